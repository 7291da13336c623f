"""Retrieval: dense (the index's vector store) and BM25 search over an index, fused into one ranking.

Fusion methods (``fusion=``):

- ``dense`` / ``bm25``: one side only;
- ``rrf``: reciprocal-rank fusion, 1/(60+rank) summed;
- ``adaptive`` (default): BM25's pool joins the dense pool as candidates; each candidate's dense
  evidence is its cosine blended with the cosine of its best sentence, with weight w = sentence_gain
  × (how far the best sentence of all candidates rises above the best passage).  A question that one
  sentence answers exactly (a figure, a name) then ranks the passage holding that sentence first; a
  topical question, where no sentence stands out, keeps the passage ranking.  BM25 is added with
  bm25_weight × (how far its top score stands above the median of its pool): 0 by default, because
  every BM25 weight that helped on the tune questions ranked worse than dense-only on InsuranceQA-zh.
  The numbers are data (``qa/data/retrieval.json``); README "Retrieval" has the measurements.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field

import numpy as np

from .chunks import Chunk
from .errors import QuestionError
from .loaded import Index
from .inputs import sanitise
from .wordlists import table

FUSIONS = ("adaptive", "rrf", "dense", "bm25")
MAX_QUESTION_CHARS = 2000


def check_question(q: str) -> str:
    if not isinstance(q, str):
        raise QuestionError(f"question must be a string, got {type(q).__name__}")
    cleaned = "".join(ch for ch in sanitise(q) if ch.isprintable() or ch in "\n\t").strip()
    if not any(ch.isalnum() for ch in cleaned):  # ？？ or …: marks with no word to answer
        raise QuestionError("question is empty: type a question, e.g. 工资被拖欠了找谁?")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise QuestionError(f"question is {len(cleaned)} characters; the limit is {MAX_QUESTION_CHARS}")
    return cleaned


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    dense: float = 0.0  # cosine similarity
    bm25: float = 0.0  # raw BM25 score
    rank: int = 0  # 1-based, as shown with an answer (the passages an answer cites come first)
    retrieved_rank: int = 0  # 1-based, by retrieval alone (``rank`` when not given)

    def __post_init__(self):
        if not self.retrieved_rank:
            object.__setattr__(self, "retrieved_rank", self.rank)


@dataclass(frozen=True)
class Closeness:
    """How close the bulletins come to a text: its best passage cosine, and its best sentence
    cosine (None when the index has no sentence vectors)."""

    passage: float
    sentence: float | None


@dataclass(frozen=True)
class Retrieval:
    """What one search found: its hits best first, the question's vector, timings and the best dense cosine."""

    question: str
    hits: list[Hit]
    query_vector: np.ndarray | None = None
    timings_ms: dict = field(default_factory=dict)
    top_dense: float = 0.0  # best cosine over the whole index


def _rrf(rank_lists: list[np.ndarray], n: int, k: int = 60, weights=None) -> np.ndarray:
    score = np.zeros(n, np.float64)
    for w, ranks in zip(weights or [1.0] * len(rank_lists), rank_lists):
        score[ranks] += w / (k + np.arange(1, len(ranks) + 1))
    return score


class Retriever:
    """Search an ``Index`` with an embedder matching the one it was built with."""

    def __init__(self, index: Index, embedder=None, *, fusion: str = "adaptive", pool: int = 50,
                 bm25_weight: float | None = None, sentence_gain: float | None = None):
        from .embed import get_embedder, index_backend

        if fusion not in FUSIONS:
            raise ValueError(f"fusion={fusion!r}: allowed values are {', '.join(FUSIONS)}")
        self.index = index
        self.embedder = embedder or get_embedder(index.model_id, backend=index_backend(index))
        index.check_embedder(self.embedder)
        self.fusion = fusion
        self.pool = pool
        weights = table("retrieval")
        self.bm25_weight = float(weights["bm25_weight"] if bm25_weight is None else bm25_weight)
        self.sentence_gain = float(weights["sentence_gain"] if sentence_gain is None else sentence_gain)
        self._chunk_sentences: list[np.ndarray] | None = None

    def search(self, question: str, k: int = 5) -> list[Hit]:
        return self.search_many([question], k)[0]

    def search_many(self, questions: list[str], k: int = 5) -> list[list[Hit]]:
        return [r.hits for r in self.retrieve_many(questions, k)]

    def retrieve_many(self, questions: list[str], k: int = 5) -> list[Retrieval]:
        from .tokens import normalise, tokenize

        if k < 1:
            raise ValueError(f"k={k}: must be at least 1")
        qs = [check_question(q) for q in questions]
        n = len(self.index.chunks)
        if n == 0:
            return [Retrieval(q, []) for q in qs]
        t0 = time.perf_counter()
        qv = self.embedder.encode_queries([normalise(q) for q in qs]) if self.fusion != "bm25" else None
        t_embed = (time.perf_counter() - t0) * 1000 / max(1, len(qs))
        out = []
        for qi, q in enumerate(qs):
            t0 = time.perf_counter()
            pool = min(n, max(self.pool, k))
            dense_all = None
            if qv is not None:
                dense_all = np.zeros(n, np.float32)
                sims, ids = self.index.store.search(qv[qi:qi + 1], pool)
                dense_ids = ids[0][ids[0] >= 0]
                dense_all[dense_ids] = sims[0][: len(dense_ids)]
            toks = tokenize(q)
            bm_all = np.asarray(self.index.bm25.get_scores(toks), np.float32) if toks else np.zeros(n, np.float32)
            bm_ids = np.argsort(-bm_all, kind="stable")[:pool]
            bm_ids = bm_ids[bm_all[bm_ids] > 0]
            if dense_all is not None and len(bm_ids):
                # dense scores for BM25's pool too (exact, from stored vectors), so fusion sees both sides
                missing = bm_ids[dense_all[bm_ids] == 0]
                if len(missing):
                    vecs = self.index.store.reconstruct(missing)
                    dense_all[missing] = vecs @ qv[qi]
            top_dense = float(sims[0][0]) if qv is not None and len(dense_ids) else 0.0
            cand = np.union1d(dense_ids if qv is not None else np.array([], int), bm_ids).astype(int)
            evidence = dense_all  # what fusion reads as the dense side; hits keep the passage cosine
            if self.fusion == "adaptive" and dense_all is not None and self.sentence_gain > 0:
                evidence = dense_all.copy()
                evidence[cand] = self._with_sentences(dense_all[cand], cand, qv[qi])
            score = self._fuse(evidence, bm_all, dense_ids if qv is not None else np.array([], int), bm_ids, n)
            if len(cand) == 0:
                cand = np.arange(min(n, pool))
            order = cand[np.argsort(-score[cand], kind="stable")][:k]
            hits = [Hit(self.index.chunks[i], float(score[i]), float(dense_all[i]) if qv is not None else 0.0,
                        float(bm_all[i]), r + 1)
                    for r, i in enumerate(order)]
            t_search = (time.perf_counter() - t0) * 1000
            out.append(Retrieval(q, hits, qv[qi] if qv is not None else None,
                                 {"embed": round(t_embed, 2), "search": round(t_search, 2)}, top_dense))
        return out

    def holding(self, retrieval: Retrieval, text: str, k: int) -> Retrieval:
        """``retrieval`` with the passages whose words hold ``text`` as written (a person's name: 韩文豪,
        which jieba cuts as 韩 / 文豪, so neither side of the search need find it) ahead of the rest:
        those it ranked, in its order, then the others, closest to the question first; at most ``k``
        of them, then the rest of its hits.  Unchanged when no passage holds ``text``."""
        flat = re.sub(r"\s+", "", text)
        if not flat:
            return retrieval
        # a passage's text is flattened (a name the layout broke: 韩文\n豪) only when it holds the name's first character
        rows = [i for i, c in enumerate(self.index.chunks) if flat[0] in c.text and flat in re.sub(r"\s+", "", c.text)]
        if not rows:
            return retrieval
        ranked = {h.chunk.id: h for h in retrieval.hits}
        known = [ranked[self.index.chunks[i].id] for i in rows if self.index.chunks[i].id in ranked]
        others = [i for i in rows if self.index.chunks[i].id not in ranked]
        dense: dict[int, float] = {}
        if others and retrieval.query_vector is not None:
            sims = self.index.store.reconstruct(np.asarray(others)) @ retrieval.query_vector
            dense = {i: float(s) for i, s in zip(others, sims)}
            others = [others[j] for j in np.argsort(-sims, kind="stable")]
        found = sorted(known, key=lambda h: h.rank) + [Hit(self.index.chunks[i], dense.get(i, 0.0), dense.get(i, 0.0)) for i in others]
        found = found[:k]
        ids = {h.chunk.id for h in found}
        hits = [dataclasses.replace(h, rank=r) for r, h in enumerate(found + [h for h in retrieval.hits if h.chunk.id not in ids], 1)]
        return dataclasses.replace(retrieval, hits=hits)

    def query_vector(self, text: str) -> np.ndarray | None:
        """``text`` embedded as a question (None without dense search)."""
        from .tokens import normalise

        if self.fusion == "bm25":
            return None
        return self.embedder.encode_queries([normalise(text)])[0]

    def closeness(self, texts: list[str]) -> list[Closeness | None]:
        """How close the bulletins come to each text, without ranking them: the best passage cosine
        over the whole index, and the best sentence cosine among the sentences of the ``pool``
        passages closest to it (None without dense search or passages)."""
        from .tokens import normalise

        if not texts or self.fusion == "bm25" or not len(self.index.chunks):
            return [None] * len(texts)
        qv = self.embedder.encode_queries([normalise(t) for t in texts])
        sims, ids = self.index.store.search(qv, min(self.pool, len(self.index.chunks)))
        vecs = self.index.sentence_vectors
        out: list[Closeness | None] = []
        for i in range(len(texts)):
            found = ids[i][ids[i] >= 0]
            if not len(found):
                out.append(None)
                continue
            sids = np.concatenate([self._sentences_of(int(c)) for c in found])
            best = float((vecs[sids].astype(np.float32) @ qv[i]).max()) if vecs is not None and len(sids) else None
            out.append(Closeness(float(sims[i][0]), best))
        return out

    def _sentences_of(self, chunk_row: int) -> np.ndarray:
        """The sentence ids of the passage in row ``chunk_row`` (the table is built on first use)."""
        if self._chunk_sentences is None:
            by_chunk = self.index.sentence_ids_by_chunk()
            self._chunk_sentences = [np.asarray(by_chunk.get(c.id, ()), np.int64) for c in self.index.chunks]
        return self._chunk_sentences[chunk_row]

    def _with_sentences(self, dense: np.ndarray, cand: np.ndarray, qv: np.ndarray) -> np.ndarray:
        """Dense evidence for passages ``cand``: their cosine blended with their best sentence's, the
        more as the best sentence of all rises above the best passage (see the module docstring)."""
        vecs = self.index.sentence_vectors
        if vecs is None or not len(vecs):
            return dense
        best = dense.astype(np.float64)
        for j, i in enumerate(cand):
            sids = self._sentences_of(int(i))
            if len(sids):
                best[j] = float((vecs[sids].astype(np.float32) @ qv).max())
        w = self.sentence_gain * max(0.0, float(best.max()) - float(dense.max()))
        return (dense + w * best) / (1.0 + w)

    def _fuse(self, dense: np.ndarray | None, bm: np.ndarray, dense_ids, bm_ids, n: int) -> np.ndarray:
        if self.fusion == "bm25" or dense is None:
            return bm.astype(np.float64)
        if self.fusion == "dense" or not len(bm_ids):
            return dense.astype(np.float64)
        if self.fusion == "rrf":
            dense_rank = np.asarray(dense_ids)[np.argsort(-dense[dense_ids], kind="stable")]
            return _rrf([dense_rank, np.asarray(bm_ids)], n)
        # adaptive: BM25 normalised to its top score, weighted by how much the top stands out
        top = float(bm[bm_ids[0]])
        rest = bm[bm_ids[1:]] if len(bm_ids) > 1 else np.array([0.0], np.float32)
        margin = (top - float(np.median(rest))) / top if top > 0 else 0.0
        w = self.bm25_weight * margin
        return dense.astype(np.float64) + w * (bm / top if top > 0 else bm)
