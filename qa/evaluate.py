"""Evaluation: retrieval and answer metrics over a JSONL question file.

Each line: ``{"id", "kind": worker|staff|unanswerable, "q", "gold": [...], "facts": [...]}`` and
optionally ``"history": ["earlier question", ...]`` for a follow-up.
A passage hits when any gold string occurs in it (whitespace ignored); hit@1, hit@5 and MRR rank the
passages as an answer shows them (the ones it cites first), "retrieval alone" as retrieval returned
them; fact recall counts facts
found in the answer text (whitespace ignored); unanswerable items must come back refused.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("worker", "staff", "unanswerable")


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


@dataclass(frozen=True)
class EvalItem:
    id: str
    kind: str
    q: str
    gold: tuple[str, ...]
    facts: tuple[str, ...]
    history: tuple[str, ...] = ()

    def turns(self) -> list[dict]:
        return [{"role": "user", "content": h} for h in self.history]


def ask_all(answerer, items: list[EvalItem], **kw) -> list:
    """One answer per item, each follow-up asked as on the page: after its earlier questions were
    asked in turn and answered (the conversation holds their answers' text, which a follow-up does
    not repeat).  ``kw`` goes to ``answerer.ask`` (``k``)."""
    replies: dict[tuple[str, ...], str] = {}  # earlier questions → the answer to the last of them

    def conversation(history: tuple[str, ...]) -> list[dict]:
        turns: list[dict] = []
        for n, q in enumerate(history, 1):
            if history[:n] not in replies:
                replies[history[:n]] = answerer.ask(q, list(turns), **kw).text
            turns += [{"role": "user", "content": q}, {"role": "assistant", "content": replies[history[:n]]}]
        return turns

    return [answerer.ask(it.q, conversation(it.history), **kw) for it in items]


def load_eval(path: str | Path) -> list[EvalItem]:
    items = []
    p = Path(path)
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            kind = d.get("kind", "worker")
            if kind not in KINDS:
                raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
            history = d.get("history") or ()
            if not isinstance(history, (list, tuple)) or not all(isinstance(h, str) for h in history):
                raise ValueError("history must be a list of earlier questions")
            items.append(EvalItem(str(d.get("id", n)), kind, d["q"], tuple(d.get("gold") or ()),
                                  tuple(d.get("facts") or ()), tuple(history)))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{p}:{n}: bad eval line ({e}); expected {{\"q\", \"gold\", \"facts\", \"kind\"}}") from None
    if not items:
        raise ValueError(f"{p}: no questions")
    return items


@dataclass
class EvalReport:
    n_answerable: int = 0
    n_unanswerable: int = 0
    hit1: float = 0.0
    hit5: float = 0.0
    mrr: float = 0.0
    retrieval_hit1: float = 0.0  # hit@1 / MRR of retrieval's own order, before the answer put its cited passage first
    retrieval_mrr: float = 0.0
    fact_recall: float = 0.0
    fact_recall_by_kind: dict = field(default_factory=dict)
    refusal_accuracy: float = 0.0
    refusal_precision: float = 0.0
    refusal_recall: float = 0.0
    answerable_refused: int = 0
    answerable_refused_share: float = 0.0
    unanswerable_refused: int = 0
    unanswerable_refused_share: float = 0.0
    citations: int = 0
    citations_unverified: int = 0
    answer_chars_median: float = 0.0
    timings_ms_median: dict = field(default_factory=dict)
    misses: list = field(default_factory=list)

    def to_json(self) -> dict:
        return self.__dict__.copy()

    def table(self) -> str:
        by_kind = ", ".join(f"{k} {v:.3f}" for k, v in self.fact_recall_by_kind.items())
        rows = [
            ("questions (answerable / unanswerable)", f"{self.n_answerable} / {self.n_unanswerable}"),
            ("hit@1", f"{self.hit1:.3f}"), ("hit@5", f"{self.hit5:.3f}"), ("MRR", f"{self.mrr:.3f}"),
            ("retrieval alone: hit@1 / MRR", f"{self.retrieval_hit1:.3f} / {self.retrieval_mrr:.3f}"),
            ("fact recall", f"{self.fact_recall:.3f}" + (f" ({by_kind})" if by_kind else "")),
            ("answerable refused", f"{self.answerable_refused} / {self.n_answerable} "
                                   f"({100 * self.answerable_refused_share:.1f}%)"),
            ("unanswerable refused", f"{self.unanswerable_refused} / {self.n_unanswerable} "
                                     f"({100 * self.unanswerable_refused_share:.1f}%)"),
            ("refusal accuracy", f"{self.refusal_accuracy:.3f}"),
            ("refusal precision / recall", f"{self.refusal_precision:.3f} / {self.refusal_recall:.3f}"),
            ("citations verified", f"{self.citations - self.citations_unverified} / {self.citations}"),
            ("answer length, median chars", f"{self.answer_chars_median:.0f}"),
            ("median ms (embed/read/search/answer/total)",
             " / ".join(f"{self.timings_ms_median.get(k, 0):.1f}" for k in ("embed", "read", "search", "answer", "total"))),
        ]
        w = max(len(a) for a, _ in rows)
        lines = [f"{a:<{w}}  {b}" for a, b in rows]
        if self.misses:
            lines.append("misses:")
            lines += [f"  {m['id']} [{m['kind']}] {m['q']} — {m['why']}" for m in self.misses]
        return "\n".join(lines)


def _gold_rank(gold, passages) -> int | None:
    """1-based rank of the first of the top 5 ``passages`` holding a gold string, else None."""
    for i, p in enumerate(list(passages)[:5]):
        if any(_squash(g) in _squash(p.chunk.text) for g in gold):
            return i + 1
    return None


def evaluate(items: list[EvalItem], answers: list, source_text=None) -> EvalReport:
    """``answers``: one ``qa.records.Answer`` per item, in order; ``source_text(source) -> str``
    (when given) checks every citation against the source file."""
    from .citations import verify_answer

    r = EvalReport()
    h1 = h5 = rr = 0.0
    rh1 = rrr = 0.0
    facts_found: dict[str, float] = {}
    facts_total: dict[str, float] = {}
    refused_right = 0
    predicted_refusals = true_refusals = 0
    lengths, timings = [], {}
    for it, a in zip(items, answers):
        for k, v in a.timings_ms.items():
            timings.setdefault(k, []).append(v)
        r.citations += len(a.citations)
        if source_text is not None:
            problems = verify_answer(a, source_text)
            r.citations_unverified += len(problems)
            for p in problems:
                r.misses.append({"id": it.id, "kind": it.kind, "q": it.q, "why": f"citation: {p}"})
        if a.refused:
            predicted_refusals += 1
        if it.kind == "unanswerable":
            r.n_unanswerable += 1
            if a.refused:
                refused_right += 1
                true_refusals += 1
            else:
                r.misses.append({"id": it.id, "kind": it.kind, "q": it.q, "why": f"not refused: {a.plain_text()[:60]}"})
            continue
        r.n_answerable += 1
        if a.refused:
            r.answerable_refused += 1
            r.misses.append({"id": it.id, "kind": it.kind, "q": it.q, "why": "refused"})
        else:
            refused_right += 1
            lengths.append(len(a.plain_text()))
        rank = None
        if it.gold:
            rank = _gold_rank(it.gold, a.passages)
            retrieved = _gold_rank(it.gold, sorted(a.passages, key=lambda p: p.retrieved_rank))
            rh1 += retrieved == 1
            rrr += 1 / retrieved if retrieved else 0.0
            if rank == 1:
                h1 += 1
            if rank:
                h5 += 1
                rr += 1 / rank
            if rank != 1:
                r.misses.append({"id": it.id, "kind": it.kind, "q": it.q,
                                 "why": f"gold at rank {rank}" if rank else "gold not in top 5"})
        text = _squash(a.text) if not a.refused else ""
        for f in it.facts:
            facts_total[it.kind] = facts_total.get(it.kind, 0) + 1
            if _squash(f) in text:
                facts_found[it.kind] = facts_found.get(it.kind, 0) + 1
            else:
                r.misses.append({"id": it.id, "kind": it.kind, "q": it.q,
                                 "why": f"fact {f!r} not in answer: {a.plain_text()[:70]}"})
    n_gold = sum(1 for it in items if it.kind != "unanswerable" and it.gold) or 1
    r.hit1, r.hit5, r.mrr = h1 / n_gold, h5 / n_gold, rr / n_gold
    r.retrieval_hit1, r.retrieval_mrr = rh1 / n_gold, rrr / n_gold
    total = sum(facts_total.values())
    r.fact_recall = sum(facts_found.values()) / total if total else 1.0
    r.fact_recall_by_kind = {k: round(facts_found.get(k, 0) / v, 4) for k, v in sorted(facts_total.items())}
    r.refusal_accuracy = refused_right / len(items)
    r.refusal_precision = true_refusals / predicted_refusals if predicted_refusals else 1.0
    r.refusal_recall = true_refusals / r.n_unanswerable if r.n_unanswerable else 1.0
    r.unanswerable_refused = true_refusals
    r.unanswerable_refused_share = r.refusal_recall if r.n_unanswerable else 0.0
    r.answerable_refused_share = r.answerable_refused / r.n_answerable if r.n_answerable else 0.0
    r.answer_chars_median = statistics.median(lengths) if lengths else 0.0
    r.timings_ms_median = {k: round(statistics.median(v), 2) for k, v in timings.items()}
    return r
