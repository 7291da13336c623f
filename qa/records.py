"""Records an answer is made of: ``Citation`` (a verified span of a source text), ``Case`` (one
article in a case list) and ``Answer`` (text with ``[n]`` markers, its citations, passages, and how
it was decided).  Frozen: a step that changes an answer makes a new one with ``dataclasses.replace``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MARK = re.compile(r"\[(\d+)\]")
# a refusal's text ends with this line and its ``topics`` (the chat page shows them as chips instead)
TOPICS_LEAD = "\n可以问问这些相关话题："


@dataclass(frozen=True)
class Citation:
    n: int
    source: str
    title: str
    start: int  # offsets into the source text: source[start:end] == text
    end: int
    text: str
    verified: bool = True
    page: int | None = None  # PDF sources: the page (from 1) the span starts on

    def to_json(self) -> dict:
        return {"n": self.n, "source": self.source, "title": self.title, "start": self.start,
                "end": self.end, "text": self.text, "verified": self.verified, "page": self.page}


@dataclass(frozen=True)
class Case:
    title: str
    place: str
    sentence: str
    citation: int  # the [n] of the cited sentence
    source: str
    column: str


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: tuple[Citation, ...]
    passages: tuple = ()  # retrieval hits shown with the answer
    refused: bool = False
    mode: str = "extractive"  # extractive | llm | extractive-fallback
    kind: str = "short"  # short | cases | refusal
    standalone_question: str = ""
    cases: tuple[Case, ...] = ()
    topics: tuple[str, ...] = ()  # refusals: nearby subjects the bulletins do cover (follow-up questions)
    timings_ms: dict = field(default_factory=dict)
    notice: str = ""
    support: dict = field(default_factory=dict)  # the answerability evidence and decision

    def plain_text(self) -> str:
        return MARK.sub("", self.text).strip()

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_json() for c in self.citations],
            "passages": [
                {"rank": h.rank, "retrieved_rank": h.retrieved_rank, "score": round(h.score, 4), "source": h.chunk.source, "title": h.chunk.title,
                 "column": h.chunk.column, "start": h.chunk.start, "end": h.chunk.end, "text": h.chunk.text}
                for h in self.passages],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "mode": self.mode,
            "kind": self.kind,
            "standalone_question": self.standalone_question or self.question,
            "cases": [c.__dict__ for c in self.cases],
            "topics": list(self.topics),
            "notice": self.notice,
            "support": self.support,
        }
