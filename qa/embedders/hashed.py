"""``HashEmbedder``: a tiny deterministic embedder for unit tests and for trying the pipeline without the
model (``--model hash``): signed hashed character uni/bi/tri-grams, normalised."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Sequence

import numpy as np

from .base import normalise


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
        return normalise(np.stack([self._vec(t) for t in texts])) if texts else np.zeros((0, self.dim), np.float32)

    def encode_documents(self, texts, titles=None, progress=None) -> np.ndarray:
        titles = titles or [""] * len(texts)
        out = self.encode_queries([f"{ti}\n{t}" for ti, t in zip(titles, texts)])
        if progress:
            progress(len(texts))
        return out
