"""Embeddings: turn queries and passages into L2-normalised float32 vectors.

``SentenceTransformerEmbedder`` wraps any sentence-transformers model (default
google/embeddinggemma-300m from the local cache, see ``qa.model``).  It loads lazily on the first
encode, runs in bfloat16 on CPU when asked (~6x faster than fp32 here, same rankings), uses the
model's own query/document prompts, and batches documents by length so padding is small.

``HashEmbedder`` is a tiny deterministic embedder (hashed character n-grams) for unit tests and
for trying the pipeline without the model: ``--model hash``.
"""

from __future__ import annotations

import hashlib
import os
import re
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


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use."""

    def __init__(self, model: str | None = None, *, dtype: str | None = None, batch_size: int = 16,
                 fetch: bool = True, log=print):
        from .model import DEFAULT_MODEL

        self.model_id = model or os.environ.get("QA_EMBED_MODEL") or DEFAULT_MODEL
        self.dtype = (dtype or os.environ.get("QA_EMBED_DTYPE") or "bf16").lower()
        if self.dtype not in ("bf16", "fp32"):
            raise ValueError(f"dtype={self.dtype!r}: allowed values are 'bf16' and 'fp32'")
        self.batch_size = batch_size
        self._fetch = fetch
        self._log = log
        self._model = None
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
        if self._model is None:
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(max(1, os.cpu_count() or 1))
            if os.path.isdir(self.path):  # a local copy needs no hub; do not let libraries try it
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
            kwargs = {"torch_dtype": torch.bfloat16} if self.dtype == "bf16" else {}
            load_from = self.path
            if self.dtype == "bf16" and os.path.isdir(self.path):
                from .model import bf16_copy

                load_from = bf16_copy(self.path, log=self._log) or self.path  # same values, half the bytes
            self._model = SentenceTransformer(load_from, device="cpu", model_kwargs=kwargs)
        return self._model

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

    def _encode(self, inputs: list[str], progress=None) -> np.ndarray:
        import torch

        if not inputs:
            return np.zeros((0, self.dim), np.float32)
        # Length buckets: sort by length, batch neighbours, restore order.
        order = np.argsort([len(x) for x in inputs], kind="stable")[::-1]
        out = np.zeros((len(inputs), self.dim), np.float32)
        with torch.inference_mode():
            for b in range(0, len(order), self.batch_size):
                idx = order[b:b + self.batch_size]
                vecs = self.model.encode([inputs[i] for i in idx], batch_size=len(idx), prompt="",
                                         convert_to_numpy=True, normalize_embeddings=True,
                                         show_progress_bar=False)
                out[idx] = np.asarray(vecs, dtype=np.float32)
                if progress:
                    progress(len(idx))
        return _normalise(out)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        prompt = self._prompt("query")
        return self._encode([prompt + t for t in texts])

    def encode_documents(self, texts, titles=None, progress=None) -> np.ndarray:
        return self._encode(self._doc_inputs(texts, titles), progress)


def get_embedder(model: str | None = None, **kwargs) -> Embedder:
    """``hash`` / ``hash-N`` → HashEmbedder (keyword arguments ignored); anything else →
    SentenceTransformerEmbedder(model, **kwargs)."""
    name = model or os.environ.get("QA_EMBED_MODEL") or ""
    m = re.fullmatch(r"hash(?:-(\d+))?", name)
    if m:
        return HashEmbedder(int(m.group(1) or 256))
    return SentenceTransformerEmbedder(model or None, **kwargs)
