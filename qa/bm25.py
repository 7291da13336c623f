"""BM25: term counts stored per index segment as plain arrays, scored over the whole index.

A segment keeps each chunk's term counts as CSR arrays (``indptr.npy``, ``ids.npy`` into the
segment's own ``terms.json``, ``tf.npy``).  ``Bm25`` merges the segments' vocabularies and computes
document frequencies and the average length over all of them, so a chunk in a segment appended
later scores exactly as if the index had been built in one go.  Scoring is Lucene's BM25
(k1 = 1.5, b = 0.75; idf = ln(1 + (N - df + 0.5) / (df + 0.5))), the bm25s default.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

FILES = ("terms.json", "indptr.npy", "ids.npy", "tf.npy")


@dataclass(frozen=True)
class TermCounts:
    """One segment's term counts: row i holds ids[indptr[i]:indptr[i+1]] with counts tf[…]."""

    terms: list[str]
    indptr: np.ndarray  # int64, rows + 1
    ids: np.ndarray  # int32, into terms
    tf: np.ndarray  # float32

    @property
    def rows(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def count(cls, token_lists: Iterable[Sequence[str]]) -> "TermCounts":
        vocab: dict[str, int] = {}
        indptr, ids, tf = [0], [], []
        for toks in token_lists:
            for t, n in Counter(toks).items():
                ids.append(vocab.setdefault(t, len(vocab)))
                tf.append(n)
            indptr.append(len(ids))
        return cls(list(vocab), np.asarray(indptr, np.int64), np.asarray(ids, np.int32), np.asarray(tf, np.float32))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "terms.json").write_text(json.dumps(self.terms, ensure_ascii=False), encoding="utf-8")
        for name, arr in (("indptr", self.indptr), ("ids", self.ids), ("tf", self.tf)):
            np.save(folder / f"{name}.npy", arr, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> "TermCounts":
        terms = json.loads((folder / "terms.json").read_text(encoding="utf-8"))
        indptr, ids, tf = (np.load(folder / f"{n}.npy", allow_pickle=False) for n in ("indptr", "ids", "tf"))
        if not isinstance(terms, list) or indptr.ndim != 1 or len(ids) != len(tf) or \
                (len(indptr) and indptr[-1] != len(ids)) or (len(ids) and int(ids.max()) >= len(terms)):
            raise ValueError(f"{folder}: inconsistent BM25 arrays")
        return cls(terms, indptr.astype(np.int64), ids.astype(np.int32), tf.astype(np.float32))


class Bm25:
    """Lucene BM25 over one or more segments' term counts, in their order."""

    def __init__(self, parts: Sequence[TermCounts], k1: float = 1.5, b: float = 0.75):
        from scipy.sparse import csr_matrix

        self.vocab: dict[str, int] = {}
        ids, tfs, indptrs, offset = [], [], [np.zeros(1, np.int64)], 0
        for p in parts:
            if not self.vocab:  # the first (base) segment keeps its own numbering
                self.vocab = dict(zip(p.terms, range(len(p.terms))))
                ids.append(p.ids)
            else:
                remap = np.fromiter((self.vocab.setdefault(t, len(self.vocab)) for t in p.terms), np.int32,
                                    len(p.terms))
                ids.append(remap[p.ids])
            tfs.append(p.tf)
            indptrs.append(p.indptr[1:] + offset)
            offset += len(p.ids)
        self.n = sum(p.rows for p in parts)
        ids_all = np.concatenate(ids) if ids else np.zeros(0, np.int32)
        tf = np.concatenate(tfs) if tfs else np.zeros(0, np.float32)
        indptr = np.concatenate(indptrs)
        rows = np.repeat(np.arange(self.n), np.diff(indptr))
        length = np.bincount(rows, weights=tf, minlength=self.n)
        avg = float(length.mean()) if self.n and length.mean() > 0 else 1.0
        self.df = np.bincount(ids_all, minlength=len(self.vocab)).astype(np.int64)
        self.idf_array = np.log(1 + (self.n - self.df + 0.5) / (self.df + 0.5)).astype(np.float32)
        weight = tf / (k1 * ((1 - b) + b * length[rows] / avg) + tf) * self.idf_array[ids_all]
        # term-major (CSC) copy: a query reads one contiguous slice per term
        csc = csr_matrix((weight.astype(np.float32), ids_all, indptr), shape=(self.n, len(self.vocab))).tocsc()
        self._ptr, self._rows, self._w = csc.indptr, csc.indices, csc.data

    def idf(self, token: str) -> float:
        """idf of a token (an unknown token gets the value of a token in no chunk)."""
        i = self.vocab.get(token)
        d = float(self.df[i]) if i is not None else 0.0
        return float(np.log(1 + (self.n - d + 0.5) / (d + 0.5)))

    def doc_freq(self, token: str) -> int:
        """How many chunks contain ``token``."""
        i = self.vocab.get(token)
        return int(self.df[i]) if i is not None else 0

    def get_scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk for a tokenised query (a repeated token counts again)."""
        scores = np.zeros(self.n, np.float32)
        for t in tokens:
            i = self.vocab.get(t)
            if i is None:
                continue
            a, b = self._ptr[i], self._ptr[i + 1]
            scores[self._rows[a:b]] += self._w[a:b]
        return scores
