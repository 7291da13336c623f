"""``SentenceTransformerEmbedder``: the model through sentence-transformers on torch (``torch-bf16``,
``torch-fp32``); ``cuda`` when torch sees a GPU.  bf16 on this CPU is ~6x faster than fp32 with the same
rankings (README, Performance) and loads from a bf16 copy of the weights (``qa.model.bf16_copy``)."""

from __future__ import annotations

import os

import numpy as np

from .base import ModelEmbedder

DTYPES = ("bf16", "fp32")


class SentenceTransformerEmbedder(ModelEmbedder):
    """A sentence-transformers model on torch, in ``dtype`` (``bf16`` or ``fp32``; default
    ``QA_EMBED_DTYPE`` or bf16), loaded on first use."""

    def __init__(self, model: str | None = None, *, dtype: str | None = None, **kwargs):
        super().__init__(model, **kwargs)
        self.dtype = (dtype or os.environ.get("QA_EMBED_DTYPE") or "bf16").lower()
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype={self.dtype!r}: allowed values are 'bf16' and 'fp32'")
        self.backend = f"torch-{self.dtype}"

    @property
    def fingerprint_suffix(self) -> str:
        return self.dtype

    def prepare(self) -> None:
        """The weights, and for bf16 their bf16 load copy (``qa.model.bf16_copy``)."""
        if self.dtype == "bf16" and os.path.isdir(self.path):
            from ..model import bf16_copy

            bf16_copy(self.path, log=self._log)

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
            from ..model import bf16_copy

            load_from = bf16_copy(self.path, log=self._log) or self.path  # same values, half the bytes
        return SentenceTransformer(load_from, device=device, model_kwargs=kwargs)

    def _read_dim(self) -> int:
        m = self.model
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return get()

    def _prompts(self) -> dict:
        return getattr(self.model, "prompts", None) or {}

    def _forward(self, batch: list[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.model.encode(batch, batch_size=len(batch), prompt="", convert_to_numpy=True,
                                     normalize_embeddings=True, show_progress_bar=False)
