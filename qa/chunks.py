"""Chunks: cut articles into retrieval passages with exact offsets into the source text.

Each article's repaired paragraphs are joined with "\\n" and split by langchain-text-splitters'
RecursiveCharacterTextSplitter on Chinese boundaries (paragraph, then 。！？；, then ，/,).
A chunk maps back to the source through ``spans``: ``text == "".join(src[s:e] for s, e in spans)``
with the "\\n" between paragraphs counted as the gap between two spans.  When a chunk does not cross
a repaired join, ``spans`` is one span and ``src[start:end] == text`` exactly.
"""

from __future__ import annotations

import bisect
import re
import hashlib
from dataclasses import dataclass
from typing import Iterable

from .articles import Article, Span, Spanned, split_articles
from .sources import Document

DEFAULT_CHUNK_SIZE = 200
DEFAULT_CHUNK_OVERLAP = 40
_LAYOUT_GAP = 6  # characters between two paragraphs of one page: blank lines, a page break
SEPARATORS = ["\n", "。", "！", "？", "；", "!", "?", ";", "，", ",", "、", ""]


@dataclass(frozen=True)
class Chunk:
    id: str
    source: str
    title: str
    column: str
    text: str
    start: int
    end: int
    spans: tuple[Span, ...] = ()
    article: int = 0
    byline: str = ""
    heading: str = ""  # the subheading of the article's section the passage starts in ("" before any)

    @property
    def context(self) -> str:
        """Title, section subheading and byline: the context shown to the embedder and BM25."""
        return " ".join(x for x in (self.title, self.heading, self.byline) if x)

    def to_json(self) -> dict:
        out = {"id": self.id, "source": self.source, "title": self.title, "column": self.column,
               "text": self.text, "start": self.start, "end": self.end,
               "spans": [list(s) for s in self.spans], "article": self.article, "byline": self.byline}
        if self.heading:
            out["heading"] = self.heading
        return out

    @classmethod
    def from_json(cls, d: dict) -> "Chunk":
        spans = d.get("spans")
        return cls(d["id"], d["source"], d["title"], d["column"], d["text"], d["start"], d["end"],
                   tuple(map(tuple, spans)) if spans else ((d["start"], d["end"]),),
                   d.get("article", 0), d.get("byline", ""), d.get("heading", ""))


class _OffsetMap:
    """Maps offsets in an article's joined text ("\\n".join(paragraphs)) back to source spans."""

    def __init__(self, pieces: list[Span]):
        # pieces: the contiguous source spans in order; consecutive pieces are separated by one
        # virtual character when they belong to different paragraphs (the "\n").
        self.pieces = pieces
        self.vstarts: list[int] = []

    @classmethod
    def for_paragraphs(cls, paragraphs) -> tuple[str, "_OffsetMap"]:
        pieces: list[Span] = []
        vstarts: list[int] = []
        pos = 0
        for k, p in enumerate(paragraphs):
            if k:
                pos += 1  # the "\n" joining paragraphs
            for s, e in p.spans:
                vstarts.append(pos)
                pieces.append((s, e))
                pos += e - s
        m = cls(pieces)
        m.vstarts = vstarts
        return "\n".join(p.text for p in paragraphs), m

    def spans(self, vstart: int, vend: int) -> tuple[Span, ...]:
        out: list[Span] = []
        i = max(0, bisect.bisect_right(self.vstarts, vstart) - 1)
        while i < len(self.pieces) and self.vstarts[i] < vend:
            s, e = self.pieces[i]
            v0 = self.vstarts[i]
            a = s + max(0, vstart - v0)
            b = s + min(e - s, vend - v0)
            if b > a:
                out.append((a, b))
            i += 1
        return tuple(out)


def chunk_id(source: str, spans: tuple[Span, ...], text: str) -> str:
    h = hashlib.sha1(f"{source}\0{spans}\0{text}".encode("utf-8")).hexdigest()
    return h[:16]


def make_splitter(chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP):
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    if chunk_size < 20:
        raise ValueError(f"chunk_size={chunk_size}: must be at least 20 characters")
    if not 0 <= chunk_overlap < chunk_size:
        raise ValueError(f"chunk_overlap={chunk_overlap}: must be >= 0 and smaller than chunk_size={chunk_size}")
    return RecursiveCharacterTextSplitter(
        separators=SEPARATORS, keep_separator="end", chunk_size=chunk_size,
        chunk_overlap=chunk_overlap, strip_whitespace=True, length_function=len)


def forward_runs(paragraphs) -> list[list]:
    """An article's paragraphs cut where one lies before the previous one in the source (the rest
    of a report printed on an earlier page, ``qa.articles._reattach``), and where a subheading comes
    after other items (the rest printed on a later page under its subheading): within a run, spans go
    forward and only layout lies between two paragraphs."""
    runs: list[list] = []
    for p in paragraphs:
        jumped = p.role == "heading" and runs and p.start - runs[-1][-1].end > _LAYOUT_GAP
        if runs and p.start >= runs[-1][-1].end and not jumped:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


def chunk_article(article: Article, splitter) -> list[Chunk]:
    """An article's passages, in reading order; a passage never spans two forward runs, so its
    ``start``/``end`` enclose its spans."""
    def make(text: str, spans: tuple[Span, ...], heading: str) -> Chunk:
        return Chunk(chunk_id(article.source, spans, text), article.source, article.title, article.column,
                     text, spans[0][0], spans[-1][1], spans, article.n, article.byline, heading)

    chunks = []
    heading = ""  # the subheading in force, carried across runs in reading order
    for run in forward_runs(article.paragraphs):
        vtext, omap = _OffsetMap.for_paragraphs(run)
        # where each subheading (consecutive heading paragraphs, joined) starts in the run's text
        marks, pos, prev_heading = [], 0, False
        for p in run:
            if p.role == "editor":  # 小编说 comments on the whole article, not on its last section
                marks.append((pos, ""))
            elif p.role == "heading":
                if prev_heading:
                    marks[-1] = (marks[-1][0], f"{marks[-1][1]} {p.text}")
                else:
                    marks.append((pos, p.text))
            prev_heading = p.role == "heading"
            pos += len(p.text) + 1
        cursor = 0
        for piece in splitter.split_text(vtext):
            at = vtext.find(piece, cursor)
            if at < 0:  # cannot happen with strip_whitespace splitting; keep the build honest if it does
                raise AssertionError(f"chunk not found in article text: {piece[:30]!r}")
            cursor = at + 1
            spans = omap.spans(at, at + len(piece))
            text = piece.replace("\n", "")  # paragraph breaks are the gaps between spans
            heading = next((h for m, h in reversed(marks) if m <= at), heading)
            chunks.append(make(text, spans, "" if heading == article.title else heading))
    return chunks


def chunk_documents(docs: Iterable[Document], chunk_size: int = DEFAULT_CHUNK_SIZE,
                    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP) -> list[Chunk]:
    """Articles → chunks for every document. JSONL records are one article titled by their title."""
    splitter = make_splitter(chunk_size, chunk_overlap)
    out: list[Chunk] = []
    for doc in docs:
        out.extend(chunk_document(doc, splitter))
    return out


def articles_of(doc: Document) -> list[Article]:
    if doc.kind == "bulletin":
        return split_articles(doc.text, doc.source)
    # A record is one article; its paragraphs are its lines.
    from .articles import paragraphs_of

    paras = paragraphs_of(doc.text)
    return [Article(doc.source, 0, doc.title, "", "", "", paras)] if paras else []


def chunk_document(doc: Document, splitter) -> list[Chunk]:
    out: list[Chunk] = []
    for art in articles_of(doc):
        out.extend(chunk_article(art, splitter))
    return out


# ---------------------------------------------------------------- sentences (for extractive answers)

@dataclass(frozen=True)
class Sentence(Spanned):
    source: str
    article: int
    text: str
    spans: tuple[Span, ...]

    def to_json(self) -> dict:
        return {"source": self.source, "article": self.article, "text": self.text,
                "spans": [list(s) for s in self.spans]}

    @classmethod
    def from_json(cls, d: dict) -> "Sentence":
        return cls(d["source"], d["article"], d["text"], tuple(tuple(s) for s in d["spans"]))


_SENT_END = re.compile(r"[。！？!?；;…]+[”’」』\"']?|$")


def sentences_of(article: Article) -> list[Sentence]:
    """Sentences of an article's paragraphs (headings included), each with its source spans."""
    out: list[Sentence] = []
    for p in article.paragraphs:
        omap = _OffsetMap([*p.spans])
        pos = 0
        vs = []
        for s, e in p.spans:
            vs.append(pos)
            pos += e - s
        omap.vstarts = vs
        start = 0
        for m in _SENT_END.finditer(p.text):
            end = m.end()
            if end <= start:
                continue
            raw = p.text[start:end]
            lead = len(raw) - len(raw.lstrip())
            text = raw.strip()
            if len(text) >= 4 and not _PUNCT_ONLY.match(text):
                out.append(Sentence(article.source, article.n, text, omap.spans(start + lead, start + lead + len(text))))
            start = end
    return out


_PUNCT_ONLY = re.compile(r"^[\W_]+$")
