"""``OnnxEmbedder``: the model's ONNX export (``qa.embedders.exported``) run by onnxruntime
(``onnx-fp32``; ``onnx-int8``: its MatMul weights dynamically quantised to int8).  onnxruntime's CUDA
provider is used when installed."""

from __future__ import annotations

import os

import numpy as np

from .exported import ExportedEmbedder


class OnnxEmbedder(ExportedEmbedder):
    """The ONNX export in an onnxruntime session."""

    def __init__(self, model: str | None = None, *, quant: str = "fp32", **kwargs):
        super().__init__(model, quant=quant, **kwargs)
        self.backend = f"onnx-{quant}"

    def _load_runtime(self):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, os.cpu_count() or 1)
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
                     if p in ort.get_available_providers()]
        return ort.InferenceSession(self.onnx_path, opts, providers=providers)

    def _read_dim(self) -> int:
        return self.model.get_outputs()[0].shape[-1]

    def _run(self, runtime, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return runtime.run(None, {"input_ids": ids, "attention_mask": mask})[0]
