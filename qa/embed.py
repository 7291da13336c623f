"""Embeddings: which backend turns queries and passages into L2-normalised float32 vectors.

This module is the one place that chooses (``get_embedder``); the backends live in ``qa.embedders``, one
class each, behind the small ``Embedder`` interface below.  The default model is
google/embeddinggemma-300m from the local cache (``qa.model``), with its own query/document prompts.

Backends (``QA_EMBED_BACKEND`` or ``backend=``; measured by ``python -m qa bench --embed-backends``):

- ``openvino-bf16`` / ``openvino-fp32``: the model's ONNX export compiled by OpenVINO's CPU plugin with bf16
  or f32 inference precision (``qa.embedders.openvino_rt``);
- ``torch-bf16`` / ``torch-fp32``: sentence-transformers on torch (``cuda`` when torch sees a GPU);
- ``onnx-fp32`` / ``onnx-int8``: the ONNX export (int8: MatMul weights dynamically quantised) run with
  onnxruntime.

The default is ``openvino-bf16`` on a CPU that runs bf16 natively (AVX512-BF16 or AMX: 2.0x torch-bf16
at the build's batch, 2.2x at a question's, same answers — README, Performance), else ``torch-bf16``
(OpenVINO in f32 ran at half torch-bf16's speed).

Each backend has its own fingerprint (the index manifest records it), so an index built by one backend
is never silently queried with another: their vectors are close but not identical.  A query embedder
follows the backend that built the index (``index_backend``) unless ``QA_EMBED_BACKEND`` is set.

``HashEmbedder`` is a tiny deterministic embedder (hashed character n-grams) for unit tests and for
trying the pipeline without the model: ``--model hash``.
"""

from __future__ import annotations

import os
import re
from typing import Callable, Protocol, Sequence

import numpy as np

from .embedders.hashed import HashEmbedder
from .embedders.onnx_rt import OnnxEmbedder
from .embedders.openvino_rt import OpenVinoEmbedder, cpu_has_bf16
from .embedders.torch_st import SentenceTransformerEmbedder

__all__ = ["BACKENDS", "Embedder", "HashEmbedder", "OnnxEmbedder", "OpenVinoEmbedder", "SentenceTransformerEmbedder",
           "backend_of", "default_backend", "get_embedder", "index_backend"]


class Embedder(Protocol):
    model_id: str
    dim: int

    @property
    def fingerprint(self) -> str: ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_documents(self, texts: Sequence[str], titles: Sequence[str] | None = None,
                         progress: Callable[[int], None] | None = None) -> np.ndarray: ...


BACKENDS = ("torch-bf16", "torch-fp32", "onnx-fp32", "onnx-int8", "openvino-bf16", "openvino-fp32")
# chosen by `python -m qa bench --embed-backends` (README, Performance): the fastest that keeps quality,
# where the CPU runs bf16 natively; FALLBACK_BACKEND where it does not
DEFAULT_BACKEND = "openvino-bf16"
FALLBACK_BACKEND = "torch-bf16"


def default_backend(native_bf16: bool | None = None) -> str:
    """``QA_EMBED_BACKEND``, else ``torch-`` + ``QA_EMBED_DTYPE`` when that is set, else ``DEFAULT_BACKEND``
    on a CPU with native bf16 and ``FALLBACK_BACKEND`` on one without (``native_bf16``: whether this CPU
    has it; default: ask OpenVINO, ``cpu_has_bf16()``)."""
    if os.environ.get("QA_EMBED_BACKEND"):
        return os.environ["QA_EMBED_BACKEND"].strip().lower()
    if os.environ.get("QA_EMBED_DTYPE"):
        return "torch-" + os.environ["QA_EMBED_DTYPE"].strip().lower()
    if native_bf16 is None:
        native_bf16 = cpu_has_bf16()
    return DEFAULT_BACKEND if native_bf16 else FALLBACK_BACKEND


def backend_of(fingerprint: str) -> str | None:
    """The backend a fingerprint was made by (None for one this module did not make)."""
    for b in BACKENDS:
        if b.startswith(("onnx", "openvino")) and fingerprint.endswith("-" + b):
            return b
    if fingerprint.endswith("-bf16"):
        return "torch-bf16"
    if fingerprint.endswith("-fp32"):
        return "torch-fp32"
    return None


def index_backend(index) -> str:
    """The backend to query ``index`` with: ``QA_EMBED_BACKEND`` when set (a mismatch is then refused by
    the index), else the one its manifest's fingerprint names, else ``default_backend()``."""
    if os.environ.get("QA_EMBED_BACKEND"):
        return default_backend()
    try:
        return backend_of(index.manifest["model"]["fingerprint"]) or default_backend()
    except (AttributeError, KeyError, TypeError):
        return default_backend()


def get_embedder(model: str | None = None, *, backend: str | None = None, **kwargs) -> Embedder:
    """``hash`` / ``hash-N`` → HashEmbedder (keyword arguments ignored); anything else → the model on
    ``backend`` (default: ``default_backend()``): ``torch-*`` → SentenceTransformerEmbedder,
    ``onnx-*`` → OnnxEmbedder, ``openvino-*`` → OpenVinoEmbedder."""
    name = model or os.environ.get("QA_EMBED_MODEL") or ""
    m = re.fullmatch(r"hash(?:-(\d+))?", name)
    if m:
        return HashEmbedder(int(m.group(1) or 256))
    backend = (backend or default_backend()).lower()
    if backend not in BACKENDS:
        raise ValueError(f"embedding backend {backend!r}: allowed values are {', '.join(BACKENDS)}")
    family, _, kind = backend.partition("-")
    if family == "onnx":
        kwargs.pop("dtype", None)
        return OnnxEmbedder(model or None, quant=kind, **kwargs)
    if family == "openvino":
        kwargs.pop("dtype", None)
        return OpenVinoEmbedder(model or None, precision=kind, **kwargs)
    kwargs.setdefault("dtype", kind)
    return SentenceTransformerEmbedder(model or None, **kwargs)
