"""The FAISS backend: a flat inner-product index in one ``index.faiss`` file per index segment, and
the approximate (HNSW, IVF) alternatives the bench compares it with.  The only module that imports faiss.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from .base import VectorStore


class FaissStore(VectorStore):
    """A FAISS index (exact flat inner product unless built otherwise)."""

    def __init__(self, index):
        self._ix = index

    @classmethod
    def flat(cls, dim: int, vectors: np.ndarray | None = None) -> "FaissStore":
        import faiss

        store = cls(faiss.IndexFlatIP(dim))
        if vectors is not None and len(vectors):
            store.add(vectors)
        return store

    @classmethod
    def read(cls, path: str | Path) -> "FaissStore":
        import faiss

        return cls(faiss.read_index(str(path)))

    def write(self, path: str | Path) -> None:
        import faiss

        faiss.write_index(self._ix, str(path))

    def add(self, vectors: np.ndarray) -> None:
        if len(vectors):
            self._ix.add(np.ascontiguousarray(vectors, dtype=np.float32))

    @property
    def ntotal(self) -> int:
        return int(self._ix.ntotal)

    @property
    def dim(self) -> int:
        return int(self._ix.d)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._ix.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def reconstruct(self, ids) -> np.ndarray:
        ids = [int(i) for i in ids]
        if not ids:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self._ix.reconstruct(i) for i in ids])

    def vectors(self) -> np.ndarray:
        n = self.ntotal
        return self._ix.reconstruct_n(0, n) if n else np.zeros((0, self.dim), np.float32)


def compare_ann(xb: np.ndarray, queries: np.ndarray, k: int = 10) -> dict:
    """Flat vs HNSW vs IVF over vectors ``xb``: search p50 (ms), recall@k against flat, build seconds."""
    import faiss

    n, d = xb.shape
    flat = FaissStore.flat(d, xb)._ix
    _, truth = flat.search(queries, k)
    out = {}

    def timed(ix) -> tuple[float, float]:
        ts = []
        for q in queries:
            t = time.perf_counter()
            ix.search(q[None, :], k)
            ts.append((time.perf_counter() - t) * 1000)
        _, got = ix.search(queries, k)
        recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(got, truth)]))
        return statistics.median(ts), recall

    out["flat"] = dict(zip(("search_ms_p50", "recall_at_10"), timed(flat)))
    if n >= 1000:
        t = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        hnsw.add(xb)
        hnsw.hnsw.efSearch = 64
        out["hnsw32"] = {"build_s": round(time.perf_counter() - t, 2),
                         **dict(zip(("search_ms_p50", "recall_at_10"), timed(hnsw)))}
        nlist = int(4 * n ** 0.5)
        t = time.perf_counter()
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.train(xb)
        ivf.add(xb)
        ivf.nprobe = 16
        out[f"ivf{nlist}_nprobe16"] = {"build_s": round(time.perf_counter() - t, 2),
                                       **dict(zip(("search_ms_p50", "recall_at_10"), timed(ivf)))}
    return {k: {kk: round(vv, 4) for kk, vv in v.items()} for k, v in out.items()}
