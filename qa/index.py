"""Index: build, update and load the on-disk index folder.

An index is a folder of plain files:

- ``index.faiss``: inner-product FAISS index over L2-normalised chunk vectors (cosine);
- ``chunks.jsonl``: one chunk per line (UTF-8, readable), in FAISS row order, with its BM25 tokens;
- ``sources.jsonl``: each source's name, sha256 and full text, so citations show in place (and, for a
  PDF, where each page starts in that text, so citations name their page);
- ``sentences.jsonl`` + ``sentences.npy``: every sentence with its spans and words, and its vector
  (float16), so the extractive answer scores sentences without running the model;
- ``bm25/``: each chunk's term counts (``terms.json`` + CSR arrays in ``.npy``; see qa.bm25);
- ``background.npy``: the off-domain background questions' vectors (refusal calibration);
- ``domain.npy``: the in-domain background questions' vectors (each sentence's reach, see
  qa.answerability), re-embedded only when the questions or the model change;
- ``manifest.json``: format version, model id + weight fingerprint, dim, chunking settings,
  per-source and per-file hashes, the segment list, and the sha256 and size of every file.

Those files form the base segment.  Adding bulletins appends a delta segment, ``delta-NNN/`` with
the same six kinds of file, holding only the new chunks: nothing already indexed is re-read,
re-chunked or rewritten, and the manifest (replaced atomically) is the commit point.  BM25
statistics are combined over all segments when the index is loaded, so scores do not depend on
how it was built.  A change to or removal of an indexed file, a new model or chunking, or more
than ``MAX_DELTAS`` deltas rewrites the whole index as one base segment; any chunk whose embedding
input (context + text) was indexed before keeps its vector, so only new text is embedded.  A full
rewrite goes to a sibling temporary folder that is swapped in with renames; a crash leaves the
previous index in place (or recoverable on the next load).  A file lock serialises builds.
Loading checks format, model and checksums and says how to rebuild when they do not match.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .bm25 import FILES as BM25_FILES
from .bm25 import Bm25, TermCounts
from .chunks import (DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, Chunk, Sentence, articles_of, chunk_article,
                     make_splitter, sentences_of)
from .errors import BadIndexError, IndexWriteError
from .sources import Document, SourceWarning, discover, display_path, load_documents

FORMAT_VERSION = 3  # 3: domain.npy
PARSER_VERSION = 2  # bump when articles/chunks change in a way that alters chunk text
DEFAULT_INDEX = Path("indexes/default")
SEGMENT_FILES = ("index.faiss", "chunks.jsonl", "sources.jsonl", "sentences.jsonl", "sentences.npy",
                 *(f"bm25/{f}" for f in BM25_FILES))
MAX_DELTAS = 8  # appends before the next build rewrites one base segment
_DELTA = re.compile(r"delta-(\d{3,})")


def recorded_source_paths(index_dir: str | os.PathLike, *, existing: bool = False) -> list[str]:
    """The source paths (folders or files) the index was built from, as its manifest records them
    (only those still on disk with ``existing``); [] when the manifest is unreadable or older than
    this record.  Reads the manifest itself rather than through ``_read_manifest``, whose error
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


@dataclass(frozen=True)
class BuildReport:
    path: Path
    chunks: int
    sentences: int
    embedded: int
    reused: int
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    seconds: dict = field(default_factory=dict)
    mode: str = "full"  # "full" (one base segment written), "append" (a delta segment), "unchanged"

    def summary(self) -> str:
        parts = [f"{self.chunks} chunks + {self.sentences} sentences ({self.embedded} embedded, {self.reused} reused)"]
        for name, xs in (("added", self.added), ("changed", self.changed), ("removed", self.removed)):
            if xs:
                shown = ", ".join(xs[:3]) + (f" and {len(xs) - 3} more" if len(xs) > 3 else "")
                parts.append(f"{name} {len(xs)}: {shown}")
        parts.append(f"{self.unchanged} sources unchanged")
        how = {"append": " (appended a delta segment)", "unchanged": " (nothing to do)"}.get(self.mode, "")
        return f"index {self.path}{how}: " + "; ".join(parts)


# ---------------------------------------------------------------- small helpers

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(1 << 20):
            h.update(b)
    return h.hexdigest()


def embed_key(chunk: Chunk) -> str:
    return hashlib.sha1(f"{chunk.context}\n{chunk.text}".encode("utf-8")).hexdigest()


def sentence_key(title: str, s: Sentence) -> str:
    return hashlib.sha1(f"S\n{title}\n{s.text}".encode("utf-8")).hexdigest()


def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False))
            f.write("\n")


def _read_jsonl(path: Path) -> list[dict]:
    """All records of a JSONL file (one JSON object per line)."""
    import orjson  # ~2x faster than json on a 100k-line chunk store

    rows = [orjson.loads(ln) for ln in path.read_bytes().splitlines() if ln.strip()]
    if not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"{path.name}: a line is not a JSON object")
    return rows


@contextlib.contextmanager
def build_lock(index_dir: Path, log=print):
    """Exclusive lock beside the index folder; a second build waits for the first."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir.parent / f".{index_dir.name}.lock"
    with open(lock_path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"another build of {index_dir} is running; waiting for it …")
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _recover(index_dir: Path) -> None:
    """Finish a swap interrupted between its two renames: put the old folder back."""
    if index_dir.exists():
        return
    olds = sorted(index_dir.parent.glob(f".{index_dir.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds:
        os.replace(olds[-1], index_dir)


def _swap_in(tmp: Path, index_dir: Path) -> None:
    old = None
    if index_dir.exists():
        old = index_dir.parent / f".{index_dir.name}.old-{os.getpid()}"
        os.replace(index_dir, old)
    os.replace(tmp, index_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------- the loaded index

@dataclass
class Index:
    path: Path
    manifest: dict
    chunks: list[Chunk]
    token_text: list[str]  # each chunk's BM25 tokens, space-joined (split on demand: far less memory)
    faiss: object
    bm25: Bm25 | None
    texts: dict[str, str]  # source → full text
    sentences: list[Sentence] = field(default_factory=list)
    sentence_vectors: np.ndarray | None = None  # float16, row per sentence
    sentence_token_text: list[str] = field(default_factory=list)
    pages: dict[str, tuple[int, ...]] = field(default_factory=dict)  # PDF source → each page's start offset
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
        """Every source text, joined (for "does any bulletin say X" checks)."""
        if "all_text" not in self._cache:
            self._cache["all_text"] = "\n".join(self.texts.values())
        return self._cache["all_text"]

    def background_vectors(self) -> np.ndarray:
        """The off-domain background questions' vectors the refusal calibration was made with."""
        if "background" not in self._cache:
            f = self.path / "background.npy"
            self._cache["background"] = (np.load(f, allow_pickle=False) if f.exists()
                                         else np.zeros((0, self.dim), np.float32))
        return self._cache["background"]

    def domain_vectors(self) -> np.ndarray:
        """The in-domain background questions' vectors (qa/data/domain_questions.txt)."""
        if "domain" not in self._cache:
            self._cache["domain"] = np.load(self.path / "domain.npy", allow_pickle=False)
        return self._cache["domain"]

    def lead_sentence_ids(self, source: str, article: int, n: int = 3) -> list[int]:
        """The first ``n`` sentences of an article (where a report names its subject)."""
        return self.sentence_ids_by_article().get((source, article), [])[:n]

    def articles(self) -> dict[tuple, dict]:
        """(source, article) → title, byline, column and first passage text."""
        return self._articles()

    def _articles(self) -> dict[tuple, dict]:
        if "arts" not in self._cache:
            self._cache["arts"] = _article_info(
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

    @property
    def model_id(self) -> str:
        return self.manifest["model"]["id"]

    @property
    def dim(self) -> int:
        return self.manifest["model"]["dim"]

    def vectors(self) -> np.ndarray:
        n = self.faiss.ntotal
        return self.faiss.reconstruct_n(0, n) if n else np.zeros((0, self.dim), np.float32)

    def check_embedder(self, embedder) -> None:
        m = self.manifest["model"]
        if embedder.model_id != m["id"] or embedder.fingerprint != m["fingerprint"]:
            raise BadIndexError(
                f"index {self.path} was built with model {m['id']} ({m['fingerprint']}), "
                f"not {embedder.model_id} ({embedder.fingerprint}); {rebuild_hint(self.path)} --model {embedder.model_id}")


def _article_info(chunk_rows: Iterable[dict]) -> dict[tuple, dict]:
    """(source, article) → title, byline, column and first passage text, from chunk records."""
    arts: dict[tuple, dict] = {}
    for c in chunk_rows:
        a = arts.setdefault((c["source"], c.get("article", 0)),
                            {"title": c["title"], "byline": c.get("byline", ""), "column": c["column"],
                             "text": c["text"]})
        if not a["title"] and c["title"]:
            a["title"] = c["title"]
    return arts


def _seg_dir(p: Path, seg: str) -> Path:
    return p / seg if seg else p


def _rel(seg: str, name: str) -> str:
    return f"{seg}/{name}" if seg else name


def _read_manifest(p: Path) -> dict:
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


def _verify(p: Path, manifest: dict, rels: Iterable[str] | None = None, *, sizes_only: bool = False) -> None:
    """Every file the manifest lists (or ``rels`` of them) exists with its recorded checksum (or size)."""
    files, sizes = manifest.get("files", {}), manifest.get("sizes", {})
    for rel in (files if rels is None else rels):
        f = p / rel
        if not f.is_file():
            raise BadIndexError(f"index {p}: {rel} is missing; {rebuild_hint(p)}")
        if sizes_only and rel in sizes:
            if f.stat().st_size != sizes[rel]:
                raise BadIndexError(f"index {p}: {rel} has the wrong size; {rebuild_hint(p)}")
        elif _sha256(f) != files.get(rel):
            raise BadIndexError(f"index {p}: {rel} is corrupt (checksum mismatch); {rebuild_hint(p)}")


@dataclass
class _Segment:
    """One segment's files, as read from disk."""

    chunk_rows: list[dict]
    sentence_rows: list[dict]
    sentence_vectors: np.ndarray
    faiss: object
    source_rows: list[dict]
    terms: TermCounts


def _read_segment(p: Path, seg: str) -> _Segment:
    import faiss

    d = _seg_dir(p, seg)
    fx = faiss.read_index(str(d / "index.faiss"))
    return _Segment(_read_jsonl(d / "chunks.jsonl"), _read_jsonl(d / "sentences.jsonl"),
                    np.load(d / "sentences.npy", allow_pickle=False), fx, _read_jsonl(d / "sources.jsonl"),
                    TermCounts.load(d / "bm25"))


def load_index(path: str | os.PathLike = DEFAULT_INDEX, *, verify: bool = True) -> Index:
    """Load an index folder; raise BadIndexError with a rebuild hint when it is missing, corrupt or foreign."""
    p = Path(path)
    _recover(p)
    manifest = _read_manifest(p)
    if manifest.get("format") != FORMAT_VERSION:
        raise BadIndexError(f"index {p} has format {manifest.get('format')!r}, this version reads {FORMAT_VERSION}; "
                            f"{rebuild_hint(p)} (vectors already computed are reused)")
    if verify:
        _verify(p, manifest)
    segs = manifest.get("segments", [""])
    try:
        parts = [_read_segment(p, seg) for seg in segs]
        fx = parts[0].faiss
        for part in parts[1:]:
            if part.faiss.ntotal:
                fx.add(part.faiss.reconstruct_n(0, part.faiss.ntotal))
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
    if fx.ntotal != len(chunks) or (chunks and fx.d != manifest["model"]["dim"]):
        raise BadIndexError(f"index {p}: {fx.ntotal} vectors for {len(chunks)} chunks; {rebuild_hint(p)}")
    if len(svecs) != len(sentences):
        raise BadIndexError(f"index {p}: {len(svecs)} sentence vectors for {len(sentences)} sentences; {rebuild_hint(p)}")
    return Index(p, manifest, chunks, token_text, fx, bm, texts, sentences, svecs if svecs.size else None, stoken_text,
                 pages)


# ---------------------------------------------------------------- building

def _previous(index_dir: Path, embedder, chunking: dict, log) -> tuple[dict[str, np.ndarray], dict, dict]:
    """Vectors and tokens (by embed key) and per-source info of a previous index built with the same
    model, in this format or the one before; else empties.

    Damage costs only what it touches: each segment's chunk vectors (``chunks.jsonl`` + ``index.faiss``)
    and sentence vectors (``sentences.jsonl`` + ``sentences.npy``, titled by that segment's chunks) are
    reused when their own files pass their checksums, whatever else in the folder is damaged.  Without
    a readable manifest nothing is reused: no record says which model made the vectors."""
    if not (index_dir / "manifest.json").is_file():
        return {}, {}, {}
    try:
        m = _read_manifest(index_dir)
        if m.get("format") not in (1, 2, FORMAT_VERSION):  # the segments' files are the same since format 1
            raise BadIndexError(f"format {m.get('format')!r}")
        if m["model"]["id"] != embedder.model_id or m["model"]["fingerprint"] != embedder.fingerprint:
            log(f"previous index used model {m['model']['id']}; re-embedding everything")
            return {}, m.get("sources", {}), {}
        segs = list(m.get("segments", [""]))
    except (BadIndexError, KeyError, TypeError) as e:
        log(f"previous index not reusable ({e}); building from scratch")
        return {}, {}, {}
    by_key: dict[str, np.ndarray] = {}
    old_tokens: dict[str, str] = {}
    for seg in segs:
        for key, vec, tokens in _segment_vectors(index_dir, m, seg, log):
            by_key[key], old_tokens[key] = vec, tokens
    if m.get("chunking") != chunking:
        log("chunking settings changed; unchanged chunk texts still reuse their vectors")
    return by_key, m.get("sources", {}), old_tokens


def _segment_vectors(index_dir: Path, manifest: dict, seg: str, log) -> Iterable[tuple[str, np.ndarray, str]]:
    """(embed key, vector, tokens) of every item of one segment whose files are intact; a damaged
    file is logged and only the items it holds are left out."""
    import faiss

    d = _seg_dir(index_dir, seg)

    def intact(*names: str) -> bool:
        try:
            _verify(index_dir, manifest, [_rel(seg, n) for n in names])
            return True
        except BadIndexError as e:
            log(f"{e.args[0].split(';')[0]}: its items are embedded again")
            return False

    try:
        if not intact("chunks.jsonl"):
            return
        chunk_rows = _read_jsonl(d / "chunks.jsonl")
        if intact("index.faiss"):
            fx = faiss.read_index(str(d / "index.faiss"))
            if fx.ntotal == len(chunk_rows):
                vecs = fx.reconstruct_n(0, fx.ntotal) if fx.ntotal else []
                for r, v in zip(chunk_rows, vecs):
                    yield embed_key(Chunk.from_json(r)), v, r.get("tokens", "")
        if intact("sentences.jsonl", "sentences.npy"):
            srows = _read_jsonl(d / "sentences.jsonl")
            svecs = np.load(d / "sentences.npy", allow_pickle=False)
            if len(svecs) == len(srows):
                arts = _article_info(chunk_rows)
                for r, v in zip(srows, svecs):
                    a = arts.get((r["source"], r["article"])) or {}
                    title = " ".join(x for x in (a.get("title", ""), a.get("byline", "")) if x)
                    yield sentence_key(title, Sentence.from_json(r)), v.astype(np.float32), r.get("tokens", "")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
        log(f"index {index_dir}: segment {seg or 'base'} not reusable ({e}); its items are embedded again")


@dataclass
class _Items:
    """What a set of documents contributes: chunks, sentences, and everything to embed."""

    chunks: list[Chunk]
    sentences: list[Sentence]
    keys: list[str]
    texts: list[str]
    contexts: list[str]
    per_source: dict[str, dict]


def _items(docs: Sequence[Document], chunk_size: int, chunk_overlap: int, with_sentences: bool) -> _Items:
    splitter = make_splitter(chunk_size, chunk_overlap)
    chunks: list[Chunk] = []
    sentences: list[Sentence] = []
    sentence_context: list[str] = []
    per_source: dict[str, dict] = {}
    for d in docs:
        n_before = len(chunks)
        for art in articles_of(d):
            chunks.extend(chunk_article(art, splitter))
            if with_sentences:
                ss = sentences_of(art)
                sentences.extend(ss)
                ctx = " ".join(x for x in (art.title, art.byline) if x)
                sentence_context.extend([ctx] * len(ss))
        per_source[d.source] = {"sha256": d.sha256, "chunks": len(chunks) - n_before}
    keys = [embed_key(c) for c in chunks] + [sentence_key(ctx, x) for ctx, x in zip(sentence_context, sentences)]
    texts = [c.text for c in chunks] + [x.text for x in sentences]
    contexts = [c.context for c in chunks] + sentence_context
    return _Items(chunks, sentences, keys, texts, contexts, per_source)


def _embed(items: _Items, old_vecs: dict, embedder, index_dir: Path, progress: bool, log) -> tuple[np.ndarray, int]:
    """Vectors for every item: reused from ``old_vecs`` or an interrupted build's checkpoint, else
    embedded (checkpointed every ``_Checkpoint.EVERY`` items).  Returns (vectors, number embedded)."""
    keys, texts, ctxs = items.keys, items.texts, items.contexts
    vecs = np.zeros((len(keys), embedder.dim), np.float32)
    todo = []
    for i, k in enumerate(keys):
        if k in old_vecs:
            vecs[i] = old_vecs[k]
        else:
            todo.append(i)
    checkpoint = _Checkpoint(index_dir, embedder.fingerprint, embedder.dim)
    if todo:
        saved = checkpoint.load()  # vectors a killed build already paid for
        if saved:
            still = []
            for i in todo:
                v = saved.get(keys[i])
                if v is None:
                    still.append(i)
                else:
                    vecs[i] = v
            log(f"resuming: {len(todo) - len(still)} vectors from an interrupted build")
            todo = still
    if todo:
        n_chunks_todo = sum(1 for i in todo if i < len(items.chunks))
        bar = _progress_bar(len(todo), f"embedding {n_chunks_todo} chunks + {len(todo) - n_chunks_todo} sentences",
                            progress)
        for b0 in range(0, len(todo), _Checkpoint.EVERY):
            part = todo[b0:b0 + _Checkpoint.EVERY]
            vecs[part] = embedder.encode_documents([texts[i] for i in part], [ctxs[i] for i in part],
                                                   progress=bar.update)
            if len(todo) > _Checkpoint.EVERY:
                checkpoint.save([keys[i] for i in part], vecs[part])
        bar.close()
    return vecs, len(todo)


def _tokens(items: _Items, old_tokens: dict[str, str]) -> list[str]:
    from .tokens import tokenize

    n = len(items.chunks)
    out = []
    for i, (k, c, x) in enumerate(zip(items.keys, items.contexts, items.texts)):
        t = old_tokens.get(k)
        out.append(t if t is not None else " ".join(tokenize(f"{c}\n{x}" if i < n else x)))
    return out


def _write_segment(d: Path, items: _Items, vecs: np.ndarray, tokens: list[str], docs: Sequence[Document]) -> None:
    """The segment files for ``items`` into folder ``d`` (which exists)."""
    import faiss

    n = len(items.chunks)
    fx = faiss.IndexFlatIP(vecs.shape[1])
    if n:
        fx.add(np.ascontiguousarray(vecs[:n]))
    faiss.write_index(fx, str(d / "index.faiss"))
    TermCounts.count(t.split(" ") if t else [] for t in tokens[:n]).save(d / "bm25")
    _write_jsonl(d / "chunks.jsonl", ({**c.to_json(), "tokens": tk} for c, tk in zip(items.chunks, tokens)))
    _write_jsonl(d / "sentences.jsonl", ({**x.to_json(), "tokens": tk} for x, tk in zip(items.sentences, tokens[n:])))
    np.save(d / "sentences.npy", vecs[n:].astype(np.float16), allow_pickle=False)
    _write_jsonl(d / "sources.jsonl",
                 ({"source": x.source, "sha256": x.sha256, "kind": x.kind, "title": x.title, "text": x.text,
                   **({"pages": list(x.pages)} if x.pages else {})} for x in docs))


def _corpus_fingerprint(per_source: dict) -> str:
    return hashlib.sha256("".join(f"{s}\0{v['sha256']}\n" for s, v in sorted(per_source.items())).encode()).hexdigest()


def _file_hashes(files: Sequence[Path], docs: Sequence[Document]) -> dict[str, str]:
    """sha256 of the bytes of each file that gave at least one document (display path → digest)."""
    used = {d.source.partition("#")[0] for d in docs}
    return {name: _sha256(f) for f in files if (name := display_path(f)) in used}


def _clean_stale(index_dir: Path) -> None:
    """Remove what a killed build left (called under the build lock, after ``_recover``, so no live
    build owns any of it): sibling temp and old folders, manifest temp files, and delta folders the
    manifest doesn't list."""
    for pattern in (f".{index_dir.name}.tmp-*", f".{index_dir.name}.old-*"):
        for stale in index_dir.parent.glob(pattern):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
    if not index_dir.is_dir():
        return
    for stale in index_dir.glob(".manifest.json.tmp-*"):
        stale.unlink(missing_ok=True)
    try:
        listed = set(_read_manifest(index_dir).get("segments", []))
    except (BadIndexError, TypeError):
        return  # the full rebuild that follows replaces the whole folder
    for d in index_dir.iterdir():
        if d.is_dir() and (d.name.startswith(".delta-") or (_DELTA.fullmatch(d.name) and d.name not in listed)):
            shutil.rmtree(d, ignore_errors=True)


def build_index(sources: Sequence[str | os.PathLike] = ("seeds",), index_dir: str | os.PathLike = DEFAULT_INDEX,
                embedder=None, *, chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
                progress: bool = True, log: Callable[[str], None] = print, with_sentences: bool = True) -> BuildReport:
    """Bring the index at ``index_dir`` up to date with ``sources``, embedding only what is new.

    Nothing changed: nothing is written.  Only new files: they are appended as a delta segment.
    Otherwise the index is rewritten (atomically) as one base segment."""
    from .embed import get_embedder

    index_dir = Path(index_dir)
    embedder = embedder or get_embedder()
    chunking = {"size": chunk_size, "overlap": chunk_overlap, "parser": PARSER_VERSION, "sentences": with_sentences}
    check_writable(index_dir)  # before any embedding: a read-only place fails now, with a clear message
    source_paths = [str(Path(s).resolve()) for s in sources]
    with build_lock(index_dir, log):
        _recover(index_dir)
        _clean_stale(index_dir)
        t0 = time.perf_counter()
        files = discover(sources)
        prev = _appendable(index_dir, embedder, chunking)
        by_name = {display_path(f): f for f in files}
        if prev is not None and all(name in by_name and _sha256(by_name[name]) == digest
                                    for name, digest in prev["source_files"].items()):
            new_files = [f for name, f in by_name.items() if name not in prev["source_files"]]
            docs = _new_documents(new_files, prev["sources"])
            try:  # a damaged index is rebuilt below, not kept or appended to
                if not docs:
                    _verify(index_dir, prev)
                    c = prev["counts"]
                    return BuildReport(index_dir, c["chunks"], c["sentences"], 0, c["chunks"] + c["sentences"], (),
                                       (), (), len(prev["sources"]), {"parse": time.perf_counter() - t0}, "unchanged")
                if len(prev["segments"]) <= MAX_DELTAS:
                    _verify(index_dir, prev, sizes_only=True)  # checksums are checked by every load
                    return _append(index_dir, prev, docs, new_files, embedder, chunk_size, chunk_overlap,
                                   with_sentences, progress, log, time.perf_counter() - t0, source_paths)
            except BadIndexError as e:
                log(f"{e}: rewriting the index")
        return _rebuild(index_dir, files, embedder, chunking, progress, log, source_paths)


def check_writable(index_dir: str | os.PathLike) -> None:
    """Raise ``IndexWriteError`` unless the index folder (when it exists) and the folder it lives in
    can be written: a rebuild writes a sibling and swaps it in, an append writes inside."""
    index_dir = Path(index_dir)
    parent = index_dir.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    for place in ([index_dir] if index_dir.is_dir() else []) + [parent]:
        try:
            with tempfile.TemporaryFile(dir=place):
                pass
        except OSError as e:
            raise IndexWriteError(f"index {index_dir}: cannot write in {place} ({e.strerror or e}); "
                                  "fix its permissions or choose another --index") from None


def _appendable(index_dir: Path, embedder, chunking: dict) -> dict | None:
    """The manifest of an index a delta can be appended to (this format, model and chunking), else None."""
    try:
        m = _read_manifest(index_dir)
        ok = (m.get("format") == FORMAT_VERSION and m["model"]["id"] == embedder.model_id
              and m["model"]["fingerprint"] == embedder.fingerprint and m.get("chunking") == chunking
              and isinstance(m.get("source_files"), dict) and m.get("segments"))
    except (BadIndexError, KeyError, TypeError):
        return None
    return m if ok else None


def _new_documents(files: Sequence[Path], indexed: dict[str, dict]) -> list[Document]:
    """Documents of ``files``, less exact duplicates of what is indexed (with a SourceWarning)."""
    import warnings

    if not files:
        return []
    known = {}
    for src, info in indexed.items():
        known.setdefault(info["sha256"], src)
    out = []
    for d in load_documents(files):
        if d.sha256 in known:
            warnings.warn(f"{d.source}: same content as {known[d.sha256]}, skipped", SourceWarning, stacklevel=3)
        else:
            out.append(d)
    return out


def _append(index_dir: Path, prev: dict, docs: list[Document], files: Sequence[Path], embedder, chunk_size: int,
            chunk_overlap: int, with_sentences: bool, progress: bool, log, parse_s: float,
            source_paths: list[str]) -> BuildReport:
    """Write ``docs`` as a new delta segment and commit it by replacing the manifest."""
    t = {"parse": parse_s}
    t0 = time.perf_counter()
    items = _items(docs, chunk_size, chunk_overlap, with_sentences)
    t["chunk"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    vecs, embedded = _embed(items, {}, embedder, index_dir, progress, log)
    t["embed"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tokens = _tokens(items, {})
    t["tokenize"] = time.perf_counter() - t0
    n = len(items.chunks)
    t0 = time.perf_counter()
    calibration = _extend_calibration(index_dir, prev["calibration"], vecs[:n])
    t["calibrate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    taken = [int(m.group(1)) for s in prev["segments"] if (m := _DELTA.fullmatch(s))]
    name = f"delta-{max(taken, default=0) + 1:03d}"
    tmp = index_dir / f".{name}.tmp-{os.getpid()}"
    try:
        tmp.mkdir()
        _write_segment(tmp, items, vecs, tokens, docs)
        files_sha, sizes = _file_records(tmp, SEGMENT_FILES, prefix=name)
        _fsync_tree(tmp)
        os.replace(tmp, index_dir / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    sources = {**prev["sources"], **items.per_source}
    counts = prev["counts"]
    manifest = {**prev, "calibration": calibration, "segments": [*prev["segments"], name], "sources": sources,
                "source_paths": source_paths,  # an append happens only when these hold every indexed file
                "source_files": {**prev["source_files"], **_file_hashes(files, docs)},
                "counts": {"sources": counts["sources"] + len(docs), "chunks": counts["chunks"] + n,
                           "sentences": counts["sentences"] + len(items.sentences)},
                "corpus_fingerprint": _corpus_fingerprint(sources), "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "files": {**prev["files"], **files_sha}, "sizes": {**prev.get("sizes", {}), **sizes}}
    try:
        _write_manifest(index_dir, manifest)  # the commit point
    except BaseException:
        shutil.rmtree(index_dir / name, ignore_errors=True)
        raise
    _Checkpoint(index_dir, embedder.fingerprint, embedder.dim).clear()
    t["write"] = time.perf_counter() - t0
    return BuildReport(index_dir, manifest["counts"]["chunks"], manifest["counts"]["sentences"], embedded,
                       len(items.keys) - embedded, tuple(items.per_source), (), (), len(prev["sources"]), t, "append")


def _file_records(d: Path, rels: Sequence[str], prefix: str = "") -> tuple[dict[str, str], dict[str, int]]:
    """sha256 and size of files ``rels`` in folder ``d``, keyed as the manifest lists them
    (under ``prefix/`` for a delta segment)."""
    return ({_rel(prefix, r): _sha256(d / r) for r in rels}, {_rel(prefix, r): (d / r).stat().st_size for r in rels})


def _fsync_tree(d: Path) -> None:
    for f in d.rglob("*"):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())


def _write_manifest(d: Path, manifest: dict) -> None:
    import orjson  # a 100k-source manifest: ~0.05 s instead of ~1 s with json

    tmp = d / f".manifest.json.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, d / "manifest.json")


def _rebuild(index_dir: Path, files: Sequence[Path], embedder, chunking: dict, progress: bool, log,
             source_paths: list[str]) -> BuildReport:
    """Write the whole index as one base segment in a temporary folder and swap it in."""
    t = {}
    t0 = time.perf_counter()
    docs = load_documents(files)
    t["parse"] = time.perf_counter() - t0
    if not docs:
        raise BadIndexError(f"no readable documents in {', '.join(map(str, files)) or 'the given sources'}; "
                            "nothing to index")
    t0 = time.perf_counter()
    items = _items(docs, chunking["size"], chunking["overlap"], chunking["sentences"])
    t["chunk"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    old_vecs, old_sources, old_tokens = _previous(index_dir, embedder, chunking, log)
    t["load_previous"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    vecs, embedded = _embed(items, old_vecs, embedder, index_dir, progress, log)
    t["embed"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tokens = _tokens(items, old_tokens)
    t["tokenize"] = time.perf_counter() - t0
    n = len(items.chunks)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-", dir=index_dir.parent))
    try:
        t0 = time.perf_counter()
        _write_segment(tmp, items, vecs, tokens, docs)
        t["write"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        background = embedder.encode_queries(background_questions())
        np.save(tmp / "background.npy", background.astype(np.float32), allow_pickle=False)
        calibration = _calibration(background, vecs[:n])
        domain, domain_sha = _domain_vectors(index_dir, embedder, log)
        np.save(tmp / "domain.npy", domain, allow_pickle=False)
        t["calibrate"] = time.perf_counter() - t0
        files_sha, sizes = _file_records(tmp, (*SEGMENT_FILES, "background.npy", "domain.npy"))
        manifest = {
            "format": FORMAT_VERSION,
            "calibration": calibration,
            "domain_questions": domain_sha,
            "model": {"id": embedder.model_id, "fingerprint": embedder.fingerprint, "dim": embedder.dim},
            "chunking": chunking,
            "segments": [""],
            "sources": items.per_source,
            "source_paths": source_paths,
            "source_files": _file_hashes(files, docs),
            "counts": {"sources": len(docs), "chunks": n, "sentences": len(items.sentences)},
            "corpus_fingerprint": _corpus_fingerprint(items.per_source),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "files": files_sha,
            "sizes": sizes,
        }
        _write_manifest(tmp, manifest)
        _swap_in(tmp, index_dir)
        _Checkpoint(index_dir, embedder.fingerprint, embedder.dim).clear()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    per_source = items.per_source
    added = tuple(s for s in per_source if s not in old_sources)
    changed = tuple(s for s in per_source if s in old_sources and old_sources[s]["sha256"] != per_source[s]["sha256"])
    removed = tuple(s for s in old_sources if s not in per_source)
    return BuildReport(index_dir, n, len(items.sentences), embedded, len(items.keys) - embedded, added, changed,
                       removed, len(per_source) - len(added) - len(changed), t, "full")


def background_questions(name: str = "background_questions") -> list[str]:
    """The off-domain background questions (or, with ``name="domain_questions"``, the in-domain ones)."""
    path = Path(__file__).with_name("data") / f"{name}.txt"
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]


def _domain_vectors(index_dir: Path, embedder, log) -> tuple[np.ndarray, str]:
    """The in-domain background questions' vectors and the questions' sha256: the previous index's
    when it was made from the same questions by the same model (and its file is intact), else embedded."""
    questions = background_questions("domain_questions")
    sha = hashlib.sha256("\n".join(questions).encode("utf-8")).hexdigest()
    f = index_dir / "domain.npy"
    try:
        m = _read_manifest(index_dir)
        if (m.get("domain_questions") == sha and m["model"]["fingerprint"] == embedder.fingerprint
                and m["files"].get("domain.npy") == _sha256(f)):
            return np.load(f, allow_pickle=False), sha
    except (BadIndexError, KeyError, TypeError, OSError, ValueError):
        pass
    log(f"embedding {len(questions)} in-domain background questions")
    return embedder.encode_queries(questions).astype(np.float16), sha


def _calibration(background: np.ndarray, chunk_vectors: np.ndarray, tops: np.ndarray | None = None) -> dict:
    """Top-hit cosines of off-domain background questions against this corpus.

    Their mean and spread say what "nothing relevant" scores for this model and corpus; the
    answerer refuses questions whose best match does not rise well above it (see qa.answer).
    ``tops``: the questions' best cosines so far (an appended segment can only raise them)."""
    if len(chunk_vectors) and len(background):
        new = (background @ chunk_vectors.T).max(axis=1)
        tops = new if tops is None else np.maximum(tops, new)
    if tops is None or not len(tops):
        return {"background_mean": 0.0, "background_std": 1.0, "background_max": 0.0, "n": 0, "tops": []}
    return {"background_mean": round(float(tops.mean()), 5), "background_std": round(max(float(tops.std()), 1e-3), 5),
            "background_max": round(float(tops.max()), 5), "n": len(tops),
            "tops": [round(float(x), 6) for x in tops]}


def _extend_calibration(index_dir: Path, calibration: dict, chunk_vectors: np.ndarray) -> dict:
    background = np.load(index_dir / "background.npy", allow_pickle=False)
    tops = np.asarray(calibration.get("tops") or [], np.float32)
    return _calibration(background, chunk_vectors, tops if len(tops) else None)


def source_files(index_dir: str | os.PathLike) -> list[str]:
    """The files the index at ``index_dir`` was built from, read from its manifest alone (so also
    for an index this version cannot load); [] when there is no readable manifest."""
    try:
        sources = _read_manifest(Path(index_dir)).get("sources", {})
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
            if path in file_hashes and _sha256(Path(path)) == file_hashes[path]:
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


class _Checkpoint:
    """Vectors embedded so far by a build, saved beside the index (``.NAME.partial/``) in parts of
    ``EVERY`` items, so a killed build of a large corpus resumes instead of starting over.  Only parts
    made with the same model fingerprint and dimension are reused; the folder goes once a build lands."""

    EVERY = 1024

    def __init__(self, index_dir: Path, fingerprint: str, dim: int):
        self.dir = index_dir.parent / f".{index_dir.name}.partial"
        self.fingerprint, self.dim = fingerprint, dim

    def load(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for meta in sorted(self.dir.glob("part-*.json")):
            try:
                info = json.loads(meta.read_text(encoding="utf-8"))
                if info.get("fingerprint") != self.fingerprint:
                    continue
                arr = np.load(meta.with_suffix(".npy"), allow_pickle=False)
                if arr.shape != (len(info["keys"]), self.dim):
                    continue
                out.update(zip(info["keys"], arr))
            except (OSError, ValueError, KeyError):
                continue  # a part cut short by the kill: ignore it
        return out

    def save(self, keys: list[str], vectors: np.ndarray) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        n = len(list(self.dir.glob("part-*.json")))
        stem = self.dir / f"part-{n:06d}-{os.getpid()}"
        np.save(f"{stem}.npy", vectors.astype(np.float32), allow_pickle=False)
        tmp = Path(f"{stem}.json.tmp")  # the .json appears only once the .npy is complete
        tmp.write_text(json.dumps({"fingerprint": self.fingerprint, "keys": keys}), encoding="utf-8")
        os.replace(tmp, f"{stem}.json")

    def clear(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="chunk", dynamic_ncols=True)
