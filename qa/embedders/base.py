"""What every backend of the real model shares: ``ModelEmbedder``.

A backend names its ``backend`` and ``fingerprint_suffix`` and implements ``_load`` (build the runtime
model, once), ``_forward`` (one batch of prompted texts → vectors), ``_read_dim`` and ``_prompts``; this
class does the rest: the verified local copy of the weights (``qa.model.resolve``), a thread-safe lazy
load, EmbeddingGemma's query/document prompts, batches of neighbours in length (little padding) and
L2-normalised float32 output.
"""

from __future__ import annotations

import threading
from typing import Callable, Sequence

import numpy as np


def normalise(v: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows left as they are), as float32."""
    v = np.asarray(v, dtype=np.float32)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return v / n


class ModelEmbedder:
    """The shared part of the model's backends (see the module doc). Loaded on first use."""

    backend = ""  # e.g. "torch-bf16"; set by each subclass

    def __init__(self, model: str | None = None, *, batch_size: int = 16, fetch: bool = True, log=print):
        import os

        from ..model import DEFAULT_MODEL

        self.model_id = model or os.environ.get("QA_EMBED_MODEL") or DEFAULT_MODEL
        self.batch_size = batch_size
        self._fetch = fetch
        self._log = log
        self._model = None  # the loaded runtime model
        self._load_lock = threading.Lock()
        self._path: str | None = None
        self._fingerprint: str | None = None
        self._dim: int | None = None

    # -- what a backend provides
    @property
    def fingerprint_suffix(self) -> str:
        raise NotImplementedError

    def _load(self):
        raise NotImplementedError

    def _forward(self, batch: list[str]) -> np.ndarray:
        raise NotImplementedError

    def _read_dim(self) -> int:
        raise NotImplementedError

    def _prompts(self) -> dict:
        raise NotImplementedError

    def prepare(self) -> None:
        """Make the files this backend runs from (fetched weights; a backend may add its own), so that
        the first build or page start does not pay for them."""
        self.path

    # -- lazy parts
    @property
    def path(self) -> str:
        """The local copy of the weights (fetched and verified the first time)."""
        if self._path is None:
            from ..model import resolve

            self._path = resolve(self.model_id, fetch=self._fetch, log=self._log)
        return self._path

    @property
    def fingerprint(self) -> str:
        """The weights' fingerprint plus this backend's suffix: an index records it, and an index built
        by one backend is never queried with another's vectors."""
        if self._fingerprint is None:
            from ..model import weights_fingerprint

            self._fingerprint = f"{weights_fingerprint(self.path)}-{self.fingerprint_suffix}"
        return self._fingerprint

    @property
    def model(self):
        """Loaded once, by whichever thread asks first: the page's background warm-up and a staff
        upload's build can ask at the same moment (and two torch loads at once mix dtypes)."""
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._read_dim())
        return self._dim

    # -- prompts
    def _prompt(self, kind: str) -> str:
        return self._prompts().get(kind, "")

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

    # -- encoding
    def _encode(self, inputs: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
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
        return normalise(out)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        prompt = self._prompt("query")
        return self._encode([prompt + t for t in texts])

    def encode_documents(self, texts, titles=None, progress=None) -> np.ndarray:
        return self._encode(self._doc_inputs(texts, titles), progress)
