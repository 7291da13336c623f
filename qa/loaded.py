"""The loaded index record: ``Index`` holds an index's chunks, sentences, source texts, BM25 counts
and vector store, with the lookups answers make over them (sentences of a passage or an article,
article titles and places, idf, the background vectors), whatever the index was read from.

Reading an index folder into one (manifest, checksums, segments) is ``qa.index_folder``; reading a
Milvus collection is ``qa.stores.milvus_store``; the vector store is any ``qa.stores.VectorStore``.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .bm25 import Bm25
from .chunks import Chunk, Sentence
from .errors import BadIndexError
from .stores.base import VectorStore


@dataclass
class Index:
    path: Path
    manifest: dict
    chunks: list[Chunk]
    token_text: list[str]  # each chunk's BM25 tokens, space-joined (split on demand: far less memory)
    store: VectorStore  # the chunks' vectors, row i = chunks[i]
    bm25: Bm25 | None
    texts: dict[str, str]  # source → full text
    sentences: list[Sentence] = field(default_factory=list)
    sentence_vectors: np.ndarray | None = None  # float16, row per sentence
    sentence_token_text: list[str] = field(default_factory=list)
    pages: dict[str, tuple[int, ...]] = field(default_factory=dict)  # PDF source → each page's start offset
    # named arrays kept beside the index ("background", "domain"); None → ``NAME.npy`` in the folder
    arrays: Callable[[str], np.ndarray | None] | None = field(default=None, repr=False)
    rebuild_command: str = ""  # the command that rebuilds it (``qa.index_folder.index_command`` for a folder)
    _cache: dict = field(default_factory=dict, repr=False)

    def page_of(self, source: str, offset: int) -> int | None:
        """The page (from 1) of a PDF source that ``offset`` falls on; None for sources without pages."""
        starts = self.pages.get(source)
        return bisect.bisect_right(starts, offset) if starts else None

    # -- lookups used by answers (computed once per loaded index)
    def sentence_ids_by_chunk(self) -> dict[str, list[int]]:
        if "s_by_c" not in self._cache:
            by_art = self.sentence_ids_by_article()
            out = {}
            for c in self.chunks:
                ids = by_art.get((c.source, c.article), [])
                out[c.id] = [i for i in ids if self.sentences[i].start < c.end and self.sentences[i].end > c.start]
            self._cache["s_by_c"] = out
        return self._cache["s_by_c"]

    def sentence_ids_by_article(self) -> dict[tuple, list[int]]:
        """(source, article) → its sentence ids, in text order."""
        if "s_by_a" not in self._cache:
            by_art: dict[tuple, list[int]] = {}
            for i, s in enumerate(self.sentences):
                by_art.setdefault((s.source, s.article), []).append(i)
            self._cache["s_by_a"] = by_art
        return self._cache["s_by_a"]

    def sentence_tokens(self, sid: int) -> list[str]:
        t = self.sentence_token_text[sid]
        return t.split(" ") if t else []

    def tokens_of(self, chunk: Chunk) -> list[str]:
        if "row_by_id" not in self._cache:
            self._cache["row_by_id"] = {c.id: i for i, c in enumerate(self.chunks)}
        i = self._cache["row_by_id"].get(chunk.id)
        t = self.token_text[i] if i is not None else ""
        return t.split(" ") if t else []

    def idf(self, tokens) -> dict[str, float]:
        """BM25 idf of each token over chunks (unknown tokens get the maximum)."""
        n = max(1, len(self.chunks))
        if self.bm25 is None:
            return {t: float(np.log(1 + (n + 0.5) / 0.5)) for t in tokens}
        return {t: self.bm25.idf(t) for t in tokens}

    def corpus_text(self) -> str:
        """Every source text without its whitespace, joined by newlines (for "does any bulletin say X"
        checks: a name that page layout broke across paragraphs, 江苏苏盐 / 门机械公司, is still found)."""
        if "all_text" not in self._cache:
            self._cache["all_text"] = "\n".join(re.sub(r"\s+", "", t) for t in self.texts.values())
        return self._cache["all_text"]

    def background_vectors(self) -> np.ndarray:
        """The off-domain background questions' vectors the refusal calibration was made with."""
        if "background" not in self._cache:
            a = self._array("background")
            self._cache["background"] = a if a is not None else np.zeros((0, self.dim), np.float32)
        return self._cache["background"]

    def domain_vectors(self) -> np.ndarray:
        """The in-domain background questions' vectors (qa/data/domain_questions.txt)."""
        if "domain" not in self._cache:
            a = self._array("domain")
            if a is None:
                raise BadIndexError(f"index {self.path}: the in-domain background vectors are missing; "
                                    f"{self.rebuild_hint()}")
            self._cache["domain"] = a
        return self._cache["domain"]

    def _array(self, name: str) -> np.ndarray | None:
        if self.arrays is not None:
            return self.arrays(name)
        f = self.path / f"{name}.npy"
        return np.load(f, allow_pickle=False) if f.exists() else None

    def lead_sentence_ids(self, source: str, article: int, n: int = 3) -> list[int]:
        """The first ``n`` sentences of an article (where a report names its subject)."""
        return self.sentence_ids_by_article().get((source, article), [])[:n]

    def articles(self) -> dict[tuple, dict]:
        """(source, article) → title, byline, column and first passage text."""
        return self._articles()

    def _articles(self) -> dict[tuple, dict]:
        if "arts" not in self._cache:
            self._cache["arts"] = article_info(
                {"source": c.source, "article": c.article, "title": c.title, "byline": c.byline, "column": c.column,
                 "text": c.text} for c in self.chunks)
        return self._cache["arts"]

    def article_title(self, source: str, article: int) -> str:
        a = self._articles().get((source, article))
        if a is None:
            return ""
        from .articles import untitled_label

        return a["title"] or untitled_label(a["text"])

    def article_info(self, source: str, article: int) -> dict:
        """title, byline, column and first passage text of an article ({} when unknown)."""
        return self._articles().get((source, article), {})

    def bylines(self) -> list[tuple[str, int, int, int]]:
        """The articles' bylines (滨海县总工会副主席 万月; 本报记者 王鑫…) as (source, article, start, end),
        offsets into the source text: the line printing the byline nearest the article's passages (a
        column's byline stands above its body, a report's below it).  Bylines that page layout broke
        over two lines are not printed as one and are left out.  Computed once."""
        if "bylines" not in self._cache:
            spans: dict[tuple, tuple[int, int]] = {}
            for c in self.chunks:
                lo, hi = spans.get((c.source, c.article), (c.start, c.end))
                spans[(c.source, c.article)] = (min(lo, c.start), max(hi, c.end))
            out = []
            for (source, article), info in self._articles().items():
                byline, text = info.get("byline") or "", self.texts.get(source, "")
                at = [m.start() for m in re.finditer(re.escape(byline), text)] if byline else []
                if at:
                    lo, hi = spans[(source, article)]
                    start = min(at, key=lambda x: lo - x if x < lo else max(0, x - hi))
                    out.append((source, article, start, start + len(byline)))
            self._cache["bylines"] = out
        return self._cache["bylines"]

    def article_at(self, source: str, offset: int) -> int | None:
        """The article of ``source`` that the text at ``offset`` belongs to (the article of the last
        passage starting at or before it, or of the byline printed there: a column's byline stands above
        its body, after the passages of the article before); None for a source the index does not hold."""
        if "signed_at" not in self._cache:
            signed: dict[str, list[tuple[int, int, int]]] = {}
            for src, art, a, b in self.bylines():
                signed.setdefault(src, []).append((a, b, art))
            self._cache["signed_at"] = {src: sorted(v) for src, v in signed.items()}
        lines = self._cache["signed_at"].get(source, [])
        j = bisect.bisect_right(lines, (offset, float("inf"), 0)) - 1
        if j >= 0 and lines[j][0] <= offset < lines[j][1]:
            return lines[j][2]
        if "starts" not in self._cache:
            by_source: dict[str, list[tuple[int, int]]] = {}
            for c in self.chunks:
                by_source.setdefault(c.source, []).append((c.start, c.article))
            self._cache["starts"] = {s: sorted(v) for s, v in by_source.items()}
        starts = self._cache["starts"].get(source)
        if not starts:
            return None
        i = bisect.bisect_right(starts, (offset, float("inf"))) - 1
        return starts[max(i, 0)][1]

    @property
    def model_id(self) -> str:
        return self.manifest["model"]["id"]

    @property
    def dim(self) -> int:
        return self.manifest["model"]["dim"]

    def vectors(self) -> np.ndarray:
        return self.store.vectors()

    def check_embedder(self, embedder) -> None:
        m = self.manifest["model"]
        if embedder.model_id != m["id"] or embedder.fingerprint != m["fingerprint"]:
            raise BadIndexError(
                f"index {self.path} was built with model {m['id']} ({m['fingerprint']}), "
                f"not {embedder.model_id} ({embedder.fingerprint}); {self.rebuild_hint()} --model {embedder.model_id}")

    def rebuild_hint(self) -> str:
        command = self.rebuild_command or f"python -m qa index --index {self.path}{source_options(())}"
        return f"rebuild it with: {command}"


def source_options(paths) -> str:
    """The ``--source`` options of a rebuild command: the recorded source ``paths``, or a placeholder
    the user fills in (never silently seeds/ instead)."""
    paths = list(paths)
    return "".join(f" --source {p}" for p in paths) if paths else " --source <the folders it was built from>"


def article_info(chunk_rows: Iterable[dict]) -> dict[tuple, dict]:
    """(source, article) → title, byline, column and first passage text, from chunk records."""
    arts: dict[tuple, dict] = {}
    for c in chunk_rows:
        a = arts.setdefault((c["source"], c.get("article", 0)),
                            {"title": c["title"], "byline": c.get("byline", ""), "column": c["column"],
                             "text": c["text"]})
        if not a["title"] and c["title"]:
            a["title"] = c["title"]
    return arts
