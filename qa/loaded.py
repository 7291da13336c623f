"""The loaded index record (``Index``: chunks, sentences, source texts, BM25 counts and a vector store),
and reading an index folder: its manifest, checksums and segments, rebuild hints, staleness.

The folder layout and how builds write it are described in ``qa.index``; the vector store is any
``qa.stores.VectorStore`` (FAISS for folders, ``qa.stores.milvus_store`` for Milvus).
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .bm25 import Bm25, TermCounts
from .chunks import Chunk, Sentence
from .errors import BadIndexError
from .stores.base import VectorStore
from .stores.faiss_store import FaissStore

FORMAT_VERSION = 3  # 3: domain.npy
DEFAULT_INDEX = Path("indexes/default")


def recorded_source_paths(index_dir: str | os.PathLike, *, existing: bool = False) -> list[str]:
    """The source paths (folders or files) the index was built from, as its manifest records them
    (only those still on disk with ``existing``); [] when the manifest is unreadable or older than
    this record.  Reads the manifest itself rather than through ``read_manifest``, whose error
    message is built from this function and which must never raise here."""
    try:
        paths = json.loads((Path(index_dir) / "manifest.json").read_text(encoding="utf-8")).get("source_paths")
    except (OSError, ValueError, AttributeError):
        return []
    paths = [str(x) for x in paths] if isinstance(paths, list) else []
    return [x for x in paths if Path(x).exists()] if existing else paths


def own_sources(index_dir: str | os.PathLike) -> list[str]:
    """What to rebuild or update ``index_dir`` from when no source is named: the recorded source paths
    still on disk, or, for an index older than that record, its recorded files still on disk."""
    return recorded_source_paths(index_dir, existing=True) or [f for f in source_files(index_dir) if Path(f).exists()]


def index_command(path: str | os.PathLike) -> str:
    """The command that rebuilds or updates ``path`` from the sources it was built from (never
    silently from seeds/ instead)."""
    recorded = recorded_source_paths(path)
    if recorded:
        return f"python -m qa index --index {path}" + "".join(f" --source {p}" for p in recorded)
    return f"python -m qa index --index {path} --source <the folders it was built from>"


def rebuild_hint(path: Path) -> str:
    return f"rebuild it with: {index_command(path)}"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(1 << 20):
            h.update(b)
    return h.hexdigest()


def read_jsonl(path: Path) -> list[dict]:
    """All records of a JSONL file (one JSON object per line)."""
    import orjson  # ~2x faster than json on a 100k-line chunk store

    rows = [orjson.loads(ln) for ln in path.read_bytes().splitlines() if ln.strip()]
    if not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"{path.name}: a line is not a JSON object")
    return rows


def recover(index_dir: Path) -> None:
    """Finish a swap interrupted between its two renames: put the old folder back."""
    if index_dir.exists():
        return
    olds = sorted(index_dir.parent.glob(f".{index_dir.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds:
        os.replace(olds[-1], index_dir)


# ---------------------------------------------------------------- the loaded index

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
    rebuild_command: str = ""  # how to rebuild it, when not a folder's ``index_command``
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

    def article_at(self, source: str, offset: int) -> int | None:
        """The article of ``source`` that the text at ``offset`` belongs to (the article of the last
        passage starting at or before it); None for a source the index does not hold."""
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
        return f"rebuild it with: {self.rebuild_command}" if self.rebuild_command else rebuild_hint(self.path)


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


def seg_dir(p: Path, seg: str) -> Path:
    return p / seg if seg else p


def seg_rel(seg: str, name: str) -> str:
    return f"{seg}/{name}" if seg else name


def read_manifest(p: Path) -> dict:
    mpath = p / "manifest.json"
    if not mpath.is_file():
        raise BadIndexError(f"no index at {p} (manifest.json missing); build it with: python -m qa index --index {p}")
    import orjson

    try:
        manifest = orjson.loads(mpath.read_bytes())
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        raise BadIndexError(f"index {p}: manifest.json is unreadable ({e}); {rebuild_hint(p)}") from None
    return manifest


def check_tokenizer(manifest: dict, where: str, hint: str) -> None:
    """The index's BM25 words were cut by this tokenizer (``qa.tokens.fingerprint``, recorded in its
    chunking settings); else BadIndexError: questions cut by another one would miss words (a term
    added to ``domain_words.txt`` is one word in the question, two in the index).  ``where`` names
    the index, ``hint`` says how to rebuild it."""
    from .tokens import fingerprint

    recorded = (manifest.get("chunking") or {}).get("tokenizer")
    if recorded != fingerprint():
        said = f"tokenizer {recorded}" if recorded else "a tokenizer it does not record"
        raise BadIndexError(f"{where}: its words were cut by {said}, this version cuts by {fingerprint()} "
                            f"(qa/data/domain_words.txt or stopwords.txt changed); {hint} (vectors already computed are reused)")


def verify_files(p: Path, manifest: dict, rels: Iterable[str] | None = None, *, sizes_only: bool = False) -> None:
    """Every file the manifest lists (or ``rels`` of them) exists with its recorded checksum (or size)."""
    files, sizes = manifest.get("files", {}), manifest.get("sizes", {})
    for rel in (files if rels is None else rels):
        f = p / rel
        if not f.is_file():
            raise BadIndexError(f"index {p}: {rel} is missing; {rebuild_hint(p)}")
        if sizes_only and rel in sizes:
            if f.stat().st_size != sizes[rel]:
                raise BadIndexError(f"index {p}: {rel} has the wrong size; {rebuild_hint(p)}")
        elif sha256(f) != files.get(rel):
            raise BadIndexError(f"index {p}: {rel} is corrupt (checksum mismatch); {rebuild_hint(p)}")


@dataclass
class _Segment:
    """One segment's files, as read from disk."""

    chunk_rows: list[dict]
    sentence_rows: list[dict]
    sentence_vectors: np.ndarray
    store: FaissStore
    source_rows: list[dict]
    terms: TermCounts


def _read_segment(p: Path, seg: str) -> _Segment:
    d = seg_dir(p, seg)
    fx = FaissStore.read(d / "index.faiss")
    return _Segment(read_jsonl(d / "chunks.jsonl"), read_jsonl(d / "sentences.jsonl"),
                    np.load(d / "sentences.npy", allow_pickle=False), fx, read_jsonl(d / "sources.jsonl"),
                    TermCounts.load(d / "bm25"))


def load_index(path: str | os.PathLike = DEFAULT_INDEX, *, verify: bool = True) -> Index:
    """Load an index folder; raise BadIndexError with a rebuild hint when it is missing, corrupt or foreign."""
    p = Path(path)
    recover(p)
    manifest = read_manifest(p)
    if manifest.get("format") != FORMAT_VERSION:
        raise BadIndexError(f"index {p} has format {manifest.get('format')!r}, this version reads {FORMAT_VERSION}; "
                            f"{rebuild_hint(p)} (vectors already computed are reused)")
    check_tokenizer(manifest, f"index {p}", rebuild_hint(p))
    if verify:
        verify_files(p, manifest)
    segs = manifest.get("segments", [""])
    try:
        parts = [_read_segment(p, seg) for seg in segs]
        fx = parts[0].store
        for part in parts[1:]:
            fx.add(part.store.vectors())
        chunk_rows = [r for part in parts for r in part.chunk_rows]
        chunks = [Chunk.from_json(r) for r in chunk_rows]
        token_text = [r.get("tokens", "") for r in chunk_rows]
        srows = [r for part in parts for r in part.sentence_rows]
        sentences = [Sentence.from_json(r) for r in srows]
        stoken_text = [r.get("tokens", "") for r in srows]
        svec_parts = [part.sentence_vectors for part in parts if len(part.sentence_vectors)]
        svecs = np.concatenate(svec_parts) if svec_parts else np.zeros((0, manifest["model"]["dim"]), np.float16)
        texts = {r["source"]: r["text"] for part in parts for r in part.source_rows}
        pages = {r["source"]: tuple(r["pages"]) for part in parts for r in part.source_rows if r.get("pages")}
        if any(part.terms.rows != len(part.chunk_rows) for part in parts):
            raise ValueError("BM25 rows do not match the chunks")
        bm = Bm25([part.terms for part in parts]) if chunks else None
    except BadIndexError:
        raise
    except Exception as e:  # any parse failure is a corrupt index to the user
        raise BadIndexError(f"index {p} cannot be read ({type(e).__name__}: {e}); {rebuild_hint(p)}") from None
    if fx.ntotal != len(chunks) or (chunks and fx.dim != manifest["model"]["dim"]):
        raise BadIndexError(f"index {p}: {fx.ntotal} vectors for {len(chunks)} chunks; {rebuild_hint(p)}")
    if len(svecs) != len(sentences):
        raise BadIndexError(f"index {p}: {len(svecs)} sentence vectors for {len(sentences)} sentences; {rebuild_hint(p)}")
    return Index(p, manifest, chunks, token_text, fx, bm, texts, sentences, svecs if svecs.size else None, stoken_text,
                 pages)


def source_files(index_dir: str | os.PathLike) -> list[str]:
    """The files the index at ``index_dir`` was built from, read from its manifest alone (so also
    for an index this version cannot load); [] when there is no readable manifest."""
    try:
        sources = read_manifest(Path(index_dir)).get("sources", {})
    except BadIndexError:
        return []
    return sorted({src.partition("#")[0] for src in sources}) if isinstance(sources, dict) else []


def stale_sources(index: Index) -> list[str]:
    """Sources whose file on disk no longer matches what was indexed (each file read once; a file
    whose bytes hash as recorded is unchanged without being parsed)."""
    from .sources import SourceError, _documents_in

    recorded = index.manifest.get("sources", {})
    file_hashes = index.manifest.get("source_files", {})
    by_file: dict[str, list[str]] = {}
    for src in recorded:
        by_file.setdefault(src.partition("#")[0], []).append(src)
    out = []
    for path, srcs in by_file.items():
        with contextlib.suppress(OSError):
            if path in file_hashes and sha256(Path(path)) == file_hashes[path]:
                continue
        try:
            current = {d.source.partition("#")[2]: d.sha256 for d in _documents_in(Path(path))}
        except (SourceError, OSError):
            out.extend(srcs)
            continue
        for src in srcs:
            if current.get(src.partition("#")[2]) != recorded[src]["sha256"]:
                out.append(src)
    return out


