"""Export the embedding model to ONNX once, from the verified local weights, into the per-user cache.

No optimum (its releases pin transformers < 4.58, older than this project's): the whole
sentence-transformers pipeline (Gemma3 encoder, mean pooling, the two Dense layers, normalisation) is
traced by ``torch.onnx.export`` into one graph ``(input_ids, attention_mask) → sentence_embedding``.
transformers builds EmbeddingGemma's bidirectional attention masks with ``torch.vmap``, which the
exporter cannot trace, so the wrapper builds the two masks itself with plain tensor ops and passes them
in: full attention (every non-padding token) and sliding attention (non-padding tokens closer than
``config.sliding_window``), the same masks transformers makes; eager attention.

``int8``: onnxruntime's dynamic quantisation of the fp32 export's MatMul weights (per channel); the
token embedding table stays fp32 (quantising it too moved vectors further from torch's: measured in
README, Performance).

Files: ``<cache>/models/onnx/<weights fingerprint>-<EXPORT_VERSION>/model-fp32.onnx`` and
``model-int8.onnx``; each is written to a temporary name and renamed when complete.  The export runs in a
child process so that a server does not keep torch and the fp32 weights in memory afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .errors import ModelError
from .model import cache_dir, weights_fingerprint

EXPORT_VERSION = "onnx1"  # bump when the exported graph changes: it is part of the index fingerprint


def onnx_dir(model_path: str) -> Path:
    return cache_dir() / "models" / "onnx" / f"{weights_fingerprint(model_path)}-{EXPORT_VERSION}"


def ensure_onnx(model_path: str, quant: str = "fp32", *, log=print) -> Path:
    """The path of the ``quant`` (fp32/int8) ONNX file for ``model_path``, exported first if missing."""
    target = onnx_dir(model_path) / f"model-{quant}.onnx"
    if target.is_file():
        return target
    log(f"exporting {Path(model_path).name} to ONNX ({quant}) into {target.parent} (once, ~1–2 min) …")
    code = ("import sys; from qa.onnx_export import export; export(sys.argv[1], sys.argv[2])")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent),
                                                                    os.environ.get("PYTHONPATH", "")]))}
    r = subprocess.run([sys.executable, "-c", code, model_path, quant], env=env, capture_output=True, text=True)
    if r.returncode != 0 or not target.is_file():
        raise ModelError(f"ONNX export of {model_path} ({quant}) failed:\n{r.stderr.strip()[-2000:]}")
    return target


def _wrapper(st):
    import torch

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.st = model

        def forward(self, input_ids, attention_mask):
            encoder = self.st[0].auto_model
            keep = attention_mask.bool()[:, None, None, :]
            pos = torch.arange(input_ids.shape[1])
            near = (pos[:, None] - pos[None, :]).abs() < encoder.config.sliding_window
            neg = torch.finfo(torch.float32).min
            masks = {"full_attention": torch.where(keep, 0.0, neg),
                     "sliding_attention": torch.where(keep & near[None, None], 0.0, neg)}
            h = encoder(input_ids=input_ids, attention_mask=masks, use_cache=False).last_hidden_state
            features = {"token_embeddings": h, "attention_mask": attention_mask}
            for module in list(self.st)[1:]:
                features = module(features)
            return features["sentence_embedding"]

    return SentenceEmbedding(st).eval()


def export(model_path: str, quant: str = "fp32") -> Path:
    """Write ``model-<quant>.onnx`` (int8 needs the fp32 file, made first when missing)."""
    folder = onnx_dir(model_path)
    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / "model-fp32.onnx"
    if not fp32.is_file():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(model_path, device="cpu", model_kwargs={"attn_implementation": "eager"})
        feats = st.tokenize(["工会帮助农民工讨回欠薪", "title: none | text: 货车司机之家开门迎客"])
        tmp = folder / f".model-fp32.{os.getpid()}.onnx"
        with torch.no_grad():
            torch.onnx.export(_wrapper(st), (feats["input_ids"], feats["attention_mask"]), str(tmp),
                              input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
                              dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                            "attention_mask": {0: "batch", 1: "tokens"},
                                            "sentence_embedding": {0: "batch"}},
                              opset_version=17, dynamo=False)
        os.replace(tmp, fp32)
    if quant == "fp32":
        return fp32
    if quant != "int8":
        raise ValueError(f"quant={quant!r}: allowed values are 'fp32' and 'int8'")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = folder / "model-int8.onnx"
    tmp = folder / f".model-int8.{os.getpid()}.onnx"
    quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])
    os.replace(tmp, out)
    return out
