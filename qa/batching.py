"""Questions arriving together are embedded together: a small micro-batcher for query embeddings.

``BatchingEmbedder(inner)`` is an embedder (same interface, same fingerprint) whose
``encode_queries`` calls from many threads are merged: the first caller waits ``window_s`` (default
5 ms, ``QA_BATCH_WINDOW_MS``) for others, then embeds everything waiting in one forward pass of
``inner``, at most ``max_batch`` texts (default ``MAX_BATCH``); callers that arrive while a pass
runs are embedded together in the next pass, led by one of them.  Each caller gets its own rows back, in its order; an error in
a pass is raised in every caller of that pass.  ``encode_documents`` (index builds) passes through.

``passes`` and ``texts`` count the forward passes and the texts embedded, so a test or the load
benchmark can see how much was merged.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Sequence

import numpy as np

# texts one forward pass embeds at most; the app answers as many questions at once (app.py), so that a
# burst of questions can share a pass: at 50 users, 32 at once used 2.2–2.5 s of app CPU against
# 2.8–3.4 s with 8 at once (same run, README Performance)
MAX_BATCH = 32


class _Request:
    __slots__ = ("texts", "wake", "result", "error", "finished", "lead")

    def __init__(self, texts: list[str]):
        self.texts = texts
        self.wake = threading.Event()
        self.result: np.ndarray | None = None
        self.error: BaseException | None = None
        self.finished = False
        self.lead = False


class BatchingEmbedder:
    def __init__(self, inner, *, window_s: float | None = None, max_batch: int = MAX_BATCH):
        if max_batch < 1:
            raise ValueError(f"max_batch={max_batch}: must be at least 1")
        self.inner = inner
        if window_s is None:
            window_s = float(os.environ.get("QA_BATCH_WINDOW_MS", "5")) / 1000
        self.window_s = max(0.0, window_s)
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: list[_Request] = []
        self._busy = False
        self.passes = 0
        self.texts = 0

    # the embedder interface, delegated
    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def __getattr__(self, name):  # backend, path, … of the wrapped embedder
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def encode_documents(self, texts, titles=None, progress=None) -> np.ndarray:
        return self.inner.encode_documents(texts, titles, progress)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return self.inner.encode_queries(texts)
        req = _Request(texts)
        with self._lock:
            self._pending.append(req)
            lead = not self._busy
            self._busy = True
        if lead:
            if self.window_s:
                time.sleep(self.window_s)  # let questions arriving together join this pass
            self._run_pass()
        while not req.finished:
            req.wake.wait()
            req.wake.clear()
            if req.lead and not req.finished:  # promoted: lead the next pass (it includes this request)
                req.lead = False
                self._run_pass()
        if req.error is not None:
            raise req.error
        return req.result

    def _run_pass(self) -> None:
        with self._lock:
            batch, n = [], 0
            while self._pending and (not batch or n + len(self._pending[0].texts) <= self.max_batch):
                r = self._pending.pop(0)
                batch.append(r)
                n += len(r.texts)
        try:
            vecs = self.inner.encode_queries([t for r in batch for t in r.texts])
            self.passes += 1
            self.texts += n
            at = 0
            for r in batch:
                r.result = vecs[at:at + len(r.texts)]
                at += len(r.texts)
        except BaseException as e:  # every caller of this pass sees it
            for r in batch:
                r.error = e
        finally:
            with self._lock:
                nxt = self._pending[0] if self._pending else None
                if nxt is None:
                    self._busy = False
                else:
                    nxt.lead = True
            for r in batch:
                r.finished = True
                r.wake.set()
            if nxt is not None:
                nxt.wake.set()
