"""Answerability: do the bulletins answer this question?  Decided from evidence about the thing
asked, in two steps, never from vocabulary alone:

1. **Is the subject in the bulletins?**  How far the best passage and the best sentence stand above
   the background (off-domain everyday questions matched against this corpus with this model, at
   index time for passages and at load time for sentences), and how much of the question's
   IDF-weighted wording the top passages share (typos, pinyin and everyday words first mapped onto
   the bulletins' words, see ``qa.vocabulary``).
2. **Does the best candidate hold what is asked?**  When the question asks for a detail with a
   recognisable form (a figure in a unit, a price, a phone number, a clock time, a date, a person,
   a frequency, a service point — ``qa.question``), whether the best sentences contain one.

The evidence goes into a logistic model whose few numbers are fitted on the tune questions only
(``python -m qa tune eval/tune.jsonl``) and stored in ``qa/data/answerability.json`` with the
operating point chosen there.  A question naming a real place, person or organisation that no
bulletin mentions (``qa.names``) is refused as "not mentioned" whatever the evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .names import missing_names
from .wordlists import table

# what the fitted model reads; coverage, gap and known are reported too but left out of the model:
# on the tune questions (5-fold) they added nothing over the two z scores
FEATURES = ("z_passage", "z_sentence")
# slots whose absence from the answer means the bulletins do not give what is asked
DETAIL_SLOTS = frozenset({"rate", "money", "price", "phone", "clock", "date", "person", "duration", "procedure", "which", "name",
                          "list", "address", "legal"})


@dataclass(frozen=True)
class Evidence:
    z_passage: float  # best passage cosine, in background spreads
    z_sentence: float  # best sentence cosine (top passages), in background spreads
    coverage: float  # IDF-weighted share of the question's words in the top passages
    answer_coverage: float  # ... in the answer's sentences in context (title, lead, sentences before)
    gap: float  # the largest IDF share of one question word absent from the top passages
    known: float  # IDF-weighted share of the question's words the bulletins use at all
    slot: str  # what the question asks for ("" when nothing in particular)
    slot_found: bool  # the answer's sentences hold it (in the form asked: a rate, a list)
    missing: tuple[str, ...] = ()  # real names in the question that no bulletin mentions

    @property
    def detail_missing(self) -> bool:
        """A detail with a recognisable form was asked and the answer does not hold it."""
        return self.slot in DETAIL_SLOTS and not self.slot_found

    def vector(self) -> list[float]:
        """The subject evidence the model reads (step 1), in ``FEATURES`` order."""
        return [getattr(self, f) for f in FEATURES]

    def to_json(self) -> dict:
        return {"z_passage": round(self.z_passage, 3), "z_sentence": round(self.z_sentence, 3),
                "coverage": round(self.coverage, 3), "answer_coverage": round(self.answer_coverage, 3),
                "gap": round(self.gap, 3), "known": round(self.known, 3), "slot": self.slot,
                "slot_found": self.slot_found, "missing": list(self.missing)}


@dataclass(frozen=True)
class AnswerabilityModel:
    """p(answerable) = sigmoid(bias + Σ weight·feature); answered when p ≥ threshold."""

    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5

    @classmethod
    def default(cls) -> "AnswerabilityModel":
        d = table("answerability")
        return cls(tuple(float(d["weights"][f]) for f in FEATURES), float(d["bias"]), float(d["threshold"]))

    @classmethod
    def always(cls) -> "AnswerabilityModel":
        """Answers every question it is asked (unless it names something no bulletin mentions)."""
        return cls(tuple(0.0 for _ in FEATURES), 10.0, 0.5)

    def probability(self, ev: Evidence) -> float:
        return self.probability_of(ev.vector())

    def probability_of(self, vector) -> float:
        s = self.bias + sum(w * x for w, x in zip(self.weights, vector))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, s))))

    def decide(self, ev: Evidence) -> dict:
        """Answer when no named thing is missing, the asked detail is in the answer (step 2) and the
        subject evidence is strong enough (step 1)."""
        p = self.probability(ev)
        supported = not ev.missing and not ev.detail_missing and p >= self.threshold
        why = ("missing_name" if ev.missing else "detail_missing" if ev.detail_missing
               else "weak_evidence" if p < self.threshold else "")
        return {"supported": bool(supported), "p": round(p, 4), "why": why, **ev.to_json()}


class EvidenceReader:
    """Computes ``Evidence`` for a question against one index."""

    def __init__(self, index, vocabulary, chooser):
        self.index = index
        self.vocabulary = vocabulary
        self.chooser = chooser
        cal = index.manifest.get("calibration") or {}
        self._passage_bg = (float(cal.get("background_mean", 0.0)), float(cal.get("background_std") or 1.0))
        self._sentence_bg: tuple[float, float] | None = None

    def sentence_background(self) -> tuple[float, float]:
        """Mean and spread of the background questions' best sentence cosines (computed once)."""
        if self._sentence_bg is None:
            bg, vecs = self.index.background_vectors(), self.index.sentence_vectors
            if vecs is None or not len(vecs) or not len(bg):
                self._sentence_bg = self._passage_bg
            else:
                tops = (bg.astype(np.float32) @ vecs.astype(np.float32).T).max(axis=1)
                self._sentence_bg = (float(tops.mean()), max(float(tops.std()), 1e-3))
        return self._sentence_bg

    def read(self, q, hits, top_dense: float, scored, chosen, qvec) -> Evidence:
        """``q``: the analysed question; ``hits``: retrieval hits; ``scored``: the chooser's ranking
        of their sentences; ``chosen``: the sentences an answer would give; ``qvec``: the question's vector."""
        missing = tuple(missing_names(q.text, self.index.corpus_text()))
        if not hits:
            return Evidence(0.0, 0.0, 0.0, 0.0, 1.0, 0.0, q.slot, False, missing)
        m, s = self._passage_bg
        z_passage = (top_dense - m) / s
        vecs = self.index.sentence_vectors
        best_sentence = float(hits[0].dense)
        if scored and vecs is not None and qvec is not None:
            ids = np.fromiter((sid for _, sid, _ in scored), np.int64)
            best_sentence = float((vecs[ids].astype(np.float32) @ qvec).max())
        sm, ss = self.sentence_background()
        z_sentence = (best_sentence - sm) / ss
        toks: set = set()
        for h in hits[:3]:
            toks.update(self.index.tokens_of(h.chunk))
        coverage, gap = self._coverage(q, toks)
        by_sid = {sid: h for _, sid, h in scored}
        answer_toks: set = set()
        for sid in chosen:
            answer_toks |= self.chooser.context_tokens(sid, by_sid[sid].chunk) if sid in by_sid else set()
        answer_coverage, _ = self._coverage(q, answer_toks)
        known = self._known(q)
        answer_text = "".join(self.index.sentences[sid].text for sid in chosen)
        # a rate asked (每个/每人 … 多少, 几个点) is a detail: a total does not answer it
        slot = "rate" if (q.per_unit or q.unit == "%") and q.slot == "figure" else q.slot or ("list" if q.wants_list else "")
        slot_found = bool(slot) and q.details_held(answer_text)
        return Evidence(z_passage, z_sentence, coverage, answer_coverage, gap, known, slot, slot_found, missing)

    def _coverage(self, q, toks: set) -> tuple[float, float]:
        """(IDF-weighted share of the question's words in ``toks``, largest share of one absent word)."""
        total = sum(q.tokens.values())
        if not total:
            return 0.0, 0.0
        got, gap = 0.0, 0.0
        for t, w in q.tokens.items():
            if q.covers(t, toks) or any(f in toks for f in self.vocabulary.alternatives(t)):
                got += w
            else:
                gap = max(gap, w / total)
        return got / total, gap

    def _known(self, q) -> float:
        total = sum(q.tokens.values())
        if not total:
            return 0.0
        return sum(w for t, w in q.tokens.items()
                   if self.vocabulary.known(t) or any(self.vocabulary.known(x) for x in q.synonyms.get(t, ()))) / total
