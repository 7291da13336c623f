"""Embedding backends, one class per module, all implementing ``qa.embed.Embedder``.

- ``hashed.HashEmbedder``: hashed character n-grams, no model files (tests, ``--model hash``);
- ``base.ModelEmbedder``: what every backend of the real model shares (the verified local copy, a
  lazy thread-safe load, the model's prompts, length-bucketed batches, normalised float32 output);
- ``torch_st.SentenceTransformerEmbedder``: sentence-transformers on torch (``torch-bf16``, ``torch-fp32``);
- ``exported.ExportedEmbedder``: the model's ONNX export (``qa.onnx_export``) with its own tokenizer, no
  torch at run time; ``onnx_rt.OnnxEmbedder`` runs it with onnxruntime (``onnx-fp32``, ``onnx-int8``),
  ``openvino_rt.OpenVinoEmbedder`` with OpenVINO's CPU plugin (``openvino-bf16``, ``openvino-fp32``).

``qa.embed`` chooses among them (``get_embedder``); import them from there.
"""
