"""Embeddings: turn queries and passages into L2-normalised float32 vectors.

``SentenceTransformerEmbedder`` wraps any sentence-transformers model (default
google/embeddinggemma-300m from the local cache, see ``qa.model``).  It loads lazily on the first
encode, runs in bfloat16 on CPU when asked (~6x faster than fp32 here, same rankings), uses the
model's own query/document prompts, and batches documents by length so padding is small.

Backends (``QA_EMBED_BACKEND`` or ``backend=``; measured by ``python -m qa bench --embed-backends``):

- ``torch-bf16`` / ``torch-fp32``: sentence-transformers on torch (``cuda`` when torch sees a GPU);
- ``onnx-fp32``: the same model exported once to ONNX (``qa.onnx_export``) into the per-user cache and
  run with onnxruntime; the page then needs neither torch nor sentence-transformers at run time;
- ``onnx-int8``: that export with its MatMul weights quantised to int8 (onnxruntime dynamic quantisation);
- ``openvino-bf16`` / ``openvino-fp32``: the same fp32 ONNX export compiled by OpenVINO's CPU plugin with
  bf16 or f32 inference precision (bf16 needs a CPU with AVX512-BF16 or AMX); the compiled model is cached
  beside the export.  No optimum / optimum-intel (sentence-transformers' own ``backend="openvino"`` goes
  through them); only the ``openvino`` runtime.

Each backend has its own fingerprint (the index manifest records it), so an index built by one backend
is never silently queried with another: their vectors are close but not identical.

``HashEmbedder`` is a tiny deterministic embedder (hashed character n-grams) for unit tests and
for trying the pipeline without the model: ``--model hash``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import unicodedata
from typing import Callable, Protocol, Sequence

import numpy as np


class Embedder(Protocol):
    model_id: str
    dim: int

    @property
    def fingerprint(self) -> str: ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_documents(self, texts: Sequence[str], titles: Sequence[str] | None = None,
                         progress: Callable[[int], None] | None = None) -> np.ndarray: ...


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return v / n


class HashEmbedder:
    """Bag of hashed character uni/bi/tri-grams, signed, normalised. Deterministic, no model files."""

    def __init__(self, dim: int = 256):
        if dim < 8:
            raise ValueError(f"dim={dim}: must be at least 8")
        self.dim = dim
        self.model_id = f"hash-{dim}"

    @property
    def fingerprint(self) -> str:
        return f"hash-v1-{self.dim}"

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        t = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
        for n in (1, 2, 3):
            for i in range(len(t) - n + 1):
                h = hashlib.blake2b(t[i:i + n].encode("utf-8"), digest_size=8).digest()
                x = int.from_bytes(h, "little")
                v[x % self.dim] += (1.0 if (x >> 63) & 1 else -1.0) * n
        return v

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return _normalise(np.stack([self._vec(t) for t in texts])) if texts else np.zeros((0, self.dim), np.float32)

    def encode_documents(self, texts, titles=None, progress=None) -> np.ndarray:
        titles = titles or [""] * len(texts)
        out = self.encode_queries([f"{ti}\n{t}" for ti, t in zip(titles, texts)])
        if progress:
            progress(len(texts))
        return out


BACKENDS = ("torch-bf16", "torch-fp32", "onnx-fp32", "onnx-int8", "openvino-bf16", "openvino-fp32")
DEFAULT_BACKEND = "torch-bf16"  # chosen by `python -m qa bench --embed-backends` (README, Performance)


def default_backend() -> str:
    """``QA_EMBED_BACKEND``, else ``torch-`` + ``QA_EMBED_DTYPE`` when that is set, else ``DEFAULT_BACKEND``."""
    if os.environ.get("QA_EMBED_BACKEND"):
        return os.environ["QA_EMBED_BACKEND"].strip().lower()
    if os.environ.get("QA_EMBED_DTYPE"):
        return "torch-" + os.environ["QA_EMBED_DTYPE"].strip().lower()
    return DEFAULT_BACKEND


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


class SentenceTransformerEmbedder:
    """A sentence-transformers model on torch, loaded on first use."""

    backend_family = "torch"

    def __init__(self, model: str | None = None, *, dtype: str | None = None, batch_size: int = 16,
                 fetch: bool = True, log=print):
        from .model import DEFAULT_MODEL

        self.model_id = model or os.environ.get("QA_EMBED_MODEL") or DEFAULT_MODEL
        self.dtype = (dtype or os.environ.get("QA_EMBED_DTYPE") or "bf16").lower()
        if self.dtype not in ("bf16", "fp32"):
            raise ValueError(f"dtype={self.dtype!r}: allowed values are 'bf16' and 'fp32'")
        self.backend = f"torch-{self.dtype}"
        self.batch_size = batch_size
        self._fetch = fetch
        self._log = log
        self._model = None  # the loaded model (a torch module, or an onnxruntime session)
        self._load_lock = threading.Lock()
        self._path: str | None = None
        self._fingerprint: str | None = None
        self._dim: int | None = None

    # -- lazy parts
    @property
    def path(self) -> str:
        if self._path is None:
            from .model import resolve

            self._path = resolve(self.model_id, fetch=self._fetch, log=self._log)
        return self._path

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            from .model import weights_fingerprint

            self._fingerprint = f"{weights_fingerprint(self.path)}-{self.dtype}"
        return self._fingerprint

    @property
    def model(self):
        """Loaded once, by whichever thread asks first: the page's background warm-up and a staff
        upload's build can ask at the same moment, and two loads at once mix dtypes (transformers
        sets torch's default dtype while it builds a bf16 model)."""
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self):
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(max(1, os.cpu_count() or 1))
        device = "cuda" if torch.cuda.is_available() else "cpu"
        if os.path.isdir(self.path):  # a local copy needs no hub; do not let libraries try it
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        kwargs = {"torch_dtype": torch.bfloat16} if self.dtype == "bf16" else {}
        load_from = self.path
        if self.dtype == "bf16" and os.path.isdir(self.path):
            from .model import bf16_copy

            load_from = bf16_copy(self.path, log=self._log) or self.path  # same values, half the bytes
        return SentenceTransformer(load_from, device=device, model_kwargs=kwargs)

    @property
    def dim(self) -> int:
        if self._dim is None:
            m = self.model
            get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
            self._dim = int(get())
        return self._dim

    # -- prompts
    def _prompt(self, kind: str) -> str:
        prompts = getattr(self.model, "prompts", None) or {}
        return prompts.get(kind, "")

    def _doc_inputs(self, texts: Sequence[str], titles: Sequence[str] | None) -> list[str]:
        prompt = self._prompt("document")
        titles = titles or [""] * len(texts)
        out = []
        for t, ti in zip(texts, titles):
            ti = " ".join(ti.split())
            if "title: none" in prompt:  # EmbeddingGemma's documented 'title: {title} | text: ' form
                out.append(prompt.replace("title: none", f"title: {ti or 'none'}") + t)
            else:
                out.append(f"{prompt}{ti}\n{t}" if ti else f"{prompt}{t}")
        return out

    def _forward(self, batch: list[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.model.encode(batch, batch_size=len(batch), prompt="", convert_to_numpy=True,
                                     normalize_embeddings=True, show_progress_bar=False)

    def _encode(self, inputs: list[str], progress=None) -> np.ndarray:
        if not inputs:
            return np.zeros((0, self.dim), np.float32)
        # Length buckets: sort by length, batch neighbours, restore order.
        order = np.argsort([len(x) for x in inputs], kind="stable")[::-1]
        out = np.zeros((len(inputs), self.dim), np.float32)
        for b in range(0, len(order), self.batch_size):
            idx = order[b:b + self.batch_size]
            out[idx] = np.asarray(self._forward([inputs[i] for i in idx]), dtype=np.float32)
            if progress:
                progress(len(idx))
        return _normalise(out)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        prompt = self._prompt("query")
        return self._encode([prompt + t for t in texts])

    def encode_documents(self, texts, titles=None, progress=None) -> np.ndarray:
        return self._encode(self._doc_inputs(texts, titles), progress)


class OnnxEmbedder(SentenceTransformerEmbedder):
    """The same model exported to ONNX (``qa.onnx_export``, once, into the per-user cache) and run by
    onnxruntime with the model's own ``tokenizer.json``: no torch at run time.  ``quant``: ``fp32`` or
    ``int8`` (dynamic quantisation of the MatMul weights)."""

    backend_family = "onnx"

    def __init__(self, model: str | None = None, *, quant: str = "fp32", batch_size: int = 16, fetch: bool = True,
                 log=print, **_ignored):
        super().__init__(model, dtype="fp32", batch_size=batch_size, fetch=fetch, log=log)
        if quant not in ("fp32", "int8"):
            raise ValueError(f"quant={quant!r}: allowed values are 'fp32' and 'int8'")
        self.quant = quant
        self.backend = f"onnx-{quant}"
        self._tokenizer = None
        self._prompts: dict | None = None
        self._onnx_path: str | None = None

    @property
    def onnx_path(self) -> str:
        if self._onnx_path is None:
            from .onnx_export import ensure_onnx

            self._onnx_path = str(ensure_onnx(self.path, self.quant, log=self._log))
        return self._onnx_path

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            from .model import weights_fingerprint
            from .onnx_export import EXPORT_VERSION

            self._fingerprint = f"{weights_fingerprint(self.path)}-{EXPORT_VERSION}-{self.backend}"
        return self._fingerprint

    def _load(self):  # the onnxruntime session (``model``)
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, os.cpu_count() or 1)
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
                     if p in ort.get_available_providers()]
        tok = Tokenizer.from_file(os.path.join(self.path, "tokenizer.json"))
        tok.enable_truncation(max_length=self._max_len())
        pad = tok.token_to_id("<pad>")
        tok.enable_padding(pad_id=0 if pad is None else pad, pad_token="<pad>")
        self._tokenizer = tok
        return ort.InferenceSession(self.onnx_path, opts, providers=providers)

    def _max_len(self) -> int:
        try:
            with open(os.path.join(self.path, "sentence_bert_config.json"), encoding="utf-8") as f:
                return int(json.load(f).get("max_seq_length") or 2048)
        except (OSError, ValueError):
            return 2048

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.model.get_outputs()[0].shape[-1])
        return self._dim

    def _prompt(self, kind: str) -> str:
        if self._prompts is None:
            try:
                with open(os.path.join(self.path, "config_sentence_transformers.json"), encoding="utf-8") as f:
                    self._prompts = json.load(f).get("prompts") or {}
            except (OSError, ValueError):
                self._prompts = {}
        return self._prompts.get(kind, "")

    def _forward(self, batch: list[str]) -> np.ndarray:
        session = self.model
        enc = self._tokenizer.encode_batch(batch)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        return session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


class OpenVinoEmbedder(OnnxEmbedder):
    """The fp32 ONNX export (``qa.onnx_export``) compiled by OpenVINO for the CPU, with ``precision``
    ``bf16`` or ``fp32`` (OpenVINO's ``INFERENCE_PRECISION_HINT``); the same tokenizer and prompts as
    ``OnnxEmbedder``.  The compiled blob is cached in ``openvino-cache/`` beside the export (compiling
    takes ~20 s the first time).  Each call makes its own infer request, so threads may share it."""

    backend_family = "openvino"
    PRECISIONS = {"bf16": "bf16", "fp32": "f32"}

    def __init__(self, model: str | None = None, *, precision: str = "bf16", **kwargs):
        super().__init__(model, quant="fp32", **kwargs)
        if precision not in self.PRECISIONS:
            raise ValueError(f"precision={precision!r}: allowed values are {', '.join(self.PRECISIONS)}")
        self.precision = precision
        self.backend = f"openvino-{precision}"

    def _load(self):  # the compiled OpenVINO model (``model``)
        import openvino as ov

        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(os.path.join(self.path, "tokenizer.json"))
        tok.enable_truncation(max_length=self._max_len())
        pad = tok.token_to_id("<pad>")
        tok.enable_padding(pad_id=0 if pad is None else pad, pad_token="<pad>")
        self._tokenizer = tok
        core = ov.Core()
        cache = os.path.join(os.path.dirname(self.onnx_path), "openvino-cache")
        os.makedirs(cache, exist_ok=True)
        return core.compile_model(self.onnx_path, "CPU", {"INFERENCE_PRECISION_HINT": self.PRECISIONS[self.precision],
                                                          "PERFORMANCE_HINT": "LATENCY", "CACHE_DIR": cache})

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.model.outputs[0].get_partial_shape()[-1].get_length())
        return self._dim

    def _forward(self, batch: list[str]) -> np.ndarray:
        compiled = self.model
        enc = self._tokenizer.encode_batch(batch)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        request = compiled.create_infer_request()
        request.infer({"input_ids": ids, "attention_mask": mask})
        return np.array(request.get_output_tensor(0).data, dtype=np.float32)


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
