"""``OpenVinoEmbedder``: the model's fp32 ONNX export (``qa.embedders.exported``) compiled by OpenVINO's
CPU plugin with ``bf16`` or ``fp32`` inference precision (``openvino-bf16``, ``openvino-fp32``).  Only the
``openvino`` runtime is needed (not optimum-intel).  The compiled model is cached in ``openvino-cache/``
beside the export (the first compile takes ~20 s).  ``cpu_has_bf16()`` says whether this CPU runs bf16
natively (AVX512-BF16 or AMX), which ``qa.embed`` uses to choose the default backend."""

from __future__ import annotations

import functools
import os

import numpy as np

from .exported import ExportedEmbedder

PRECISIONS = {"bf16": "bf16", "fp32": "f32"}  # ours → OpenVINO's INFERENCE_PRECISION_HINT


@functools.cache
def cpu_has_bf16() -> bool:
    """True when OpenVINO's CPU plugin lists BF16 among its optimisation capabilities (False also when
    openvino is not installed): without it, a bf16 hint runs in f32, at about half torch-bf16's speed."""
    try:
        import openvino as ov

        return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:  # not installed, or no CPU plugin: no native bf16 to use
        return False


class OpenVinoEmbedder(ExportedEmbedder):
    """The fp32 ONNX export compiled for the CPU in ``precision`` (``bf16`` or ``fp32``).  Each call makes
    its own infer request, so threads may share one embedder."""

    def __init__(self, model: str | None = None, *, precision: str = "bf16", **kwargs):
        if precision not in PRECISIONS:
            raise ValueError(f"precision={precision!r}: allowed values are {', '.join(PRECISIONS)}")
        super().__init__(model, quant="fp32", **kwargs)
        self.precision = precision
        self.backend = f"openvino-{precision}"

    def _load_runtime(self):
        import openvino as ov

        cache = os.path.join(os.path.dirname(self.onnx_path), "openvino-cache")
        os.makedirs(cache, exist_ok=True)
        return ov.Core().compile_model(self.onnx_path, "CPU", {"INFERENCE_PRECISION_HINT": PRECISIONS[self.precision],
                                                                "PERFORMANCE_HINT": "LATENCY", "CACHE_DIR": cache})

    def _read_dim(self) -> int:
        return self.model.outputs[0].get_partial_shape()[-1].get_length()

    def _run(self, runtime, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        request = runtime.create_infer_request()
        request.infer({"input_ids": ids, "attention_mask": mask})
        return np.array(request.get_output_tensor(0).data, dtype=np.float32)
