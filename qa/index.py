"""Index building: bring an index folder up to date with its sources (segments, vector reuse, locking,
the atomic swap).  What a build embeds (items, embed keys, checkpointed embedding, tokens) is in
``qa.build_items``; the loaded record and reading a folder are in ``qa.loaded`` (re-exported here);
refusal calibration data in ``qa.calibration``.

The folder layout:

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
from .build_items import Checkpoint, Items, embed_key, prepare_items, sentence_key
from .bm25 import TermCounts
from .calibration import background_questions, domain_questions, embed_domain
from .calibration import calibration as _calibration
from .chunks import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, Chunk, Sentence
from .errors import BadIndexError, IndexWriteError
from .loaded import (DEFAULT_INDEX, FORMAT_VERSION, Index, article_info as _article_info, index_command,
                     load_index, own_sources, read_jsonl as _read_jsonl, read_manifest as _read_manifest,
                     rebuild_hint, recorded_source_paths, recover as _recover, seg_dir as _seg_dir,
                     seg_rel as _rel, sha256 as _sha256, source_files, stale_sources, verify_files as _verify)
from .sources import Document, SourceWarning, discover, display_path, load_documents
from .stores.faiss_store import FaissStore

__all__ = ["BadIndexError", "BuildReport", "corpus_fingerprint", "file_hashes", "DEFAULT_INDEX", "FORMAT_VERSION", "Index",
           "background_questions", "build_index", "check_writable", "index_command", "load_index", "own_sources", "rebuild_hint",
           "recorded_source_paths", "source_files", "stale_sources"]

PARSER_VERSION = 3  # bump when articles/chunks change in a way that alters chunk text
SEGMENT_FILES = ("index.faiss", "chunks.jsonl", "sources.jsonl", "sentences.jsonl", "sentences.npy",
                 *(f"bm25/{f}" for f in BM25_FILES))
MAX_DELTAS = 8  # appends before the next build rewrites one base segment
_DELTA = re.compile(r"delta-(\d{3,})")


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
    mode: str = "full"  # "full" (one base segment written), "append" (a delta segment), "unchanged";
    # a Milvus index also "update" (changed or removed bulletins replaced in place)

    def summary(self) -> str:
        parts = [f"{self.chunks} chunks + {self.sentences} sentences ({self.embedded} embedded, {self.reused} reused)"]
        for name, xs in (("added", self.added), ("changed", self.changed), ("removed", self.removed)):
            if xs:
                shown = ", ".join(xs[:3]) + (f" and {len(xs) - 3} more" if len(xs) > 3 else "")
                parts.append(f"{name} {len(xs)}: {shown}")
        parts.append(f"{self.unchanged} sources unchanged")
        how = {"append": " (appended a delta segment)", "unchanged": " (nothing to do)",
               "update": " (updated in place)"}.get(self.mode, "")
        return f"index {self.path}{how}: " + "; ".join(parts)


# ---------------------------------------------------------------- small helpers

def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False))
            f.write("\n")


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


def _swap_in(tmp: Path, index_dir: Path) -> None:
    old = None
    if index_dir.exists():
        old = index_dir.parent / f".{index_dir.name}.old-{os.getpid()}"
        os.replace(index_dir, old)
    os.replace(tmp, index_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


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
            fx = FaissStore.read(d / "index.faiss")
            if fx.ntotal == len(chunk_rows):
                vecs = fx.vectors()
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


def _write_segment(d: Path, items: Items, vecs: np.ndarray, tokens: list[str], docs: Sequence[Document]) -> None:
    """The segment files for ``items`` into folder ``d`` (which exists)."""
    n = len(items.chunks)
    FaissStore.flat(vecs.shape[1], vecs[:n]).write(d / "index.faiss")
    TermCounts.count(t.split(" ") if t else [] for t in tokens[:n]).save(d / "bm25")
    _write_jsonl(d / "chunks.jsonl", ({**c.to_json(), "tokens": tk} for c, tk in zip(items.chunks, tokens)))
    _write_jsonl(d / "sentences.jsonl", ({**x.to_json(), "tokens": tk} for x, tk in zip(items.sentences, tokens[n:])))
    np.save(d / "sentences.npy", vecs[n:].astype(np.float16), allow_pickle=False)
    _write_jsonl(d / "sources.jsonl",
                 ({"source": x.source, "sha256": x.sha256, "kind": x.kind, "title": x.title, "text": x.text,
                   **({"pages": list(x.pages)} if x.pages else {})} for x in docs))


def corpus_fingerprint(per_source: dict) -> str:
    return hashlib.sha256("".join(f"{s}\0{v['sha256']}\n" for s, v in sorted(per_source.items())).encode()).hexdigest()


def file_hashes(files: Sequence[Path], docs: Sequence[Document]) -> dict[str, str]:
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
    chunking = {"size": chunk_size, "overlap": chunk_overlap, "sentences": with_sentences}
    items, vecs, embedded, tokens = prepare_items(docs, chunking, {}, {}, embedder, index_dir, progress, log, t)
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
                "source_files": {**prev["source_files"], **file_hashes(files, docs)},
                "counts": {"sources": counts["sources"] + len(docs), "chunks": counts["chunks"] + n,
                           "sentences": counts["sentences"] + len(items.sentences)},
                "corpus_fingerprint": corpus_fingerprint(sources), "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "files": {**prev["files"], **files_sha}, "sizes": {**prev.get("sizes", {}), **sizes}}
    try:
        _write_manifest(index_dir, manifest)  # the commit point
    except BaseException:
        shutil.rmtree(index_dir / name, ignore_errors=True)
        raise
    Checkpoint(index_dir, embedder.fingerprint, embedder.dim).clear()
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
    old_vecs, old_sources, old_tokens = _previous(index_dir, embedder, chunking, log)
    t["load_previous"] = time.perf_counter() - t0
    items, vecs, embedded, tokens = prepare_items(docs, chunking, old_vecs, old_tokens, embedder, index_dir,
                                                  progress, log, t)
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
            "source_files": file_hashes(files, docs),
            "counts": {"sources": len(docs), "chunks": n, "sentences": len(items.sentences)},
            "corpus_fingerprint": corpus_fingerprint(items.per_source),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "files": files_sha,
            "sizes": sizes,
        }
        _write_manifest(tmp, manifest)
        _swap_in(tmp, index_dir)
        Checkpoint(index_dir, embedder.fingerprint, embedder.dim).clear()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    per_source = items.per_source
    added = tuple(s for s in per_source if s not in old_sources)
    changed = tuple(s for s in per_source if s in old_sources and old_sources[s]["sha256"] != per_source[s]["sha256"])
    removed = tuple(s for s in old_sources if s not in per_source)
    return BuildReport(index_dir, n, len(items.sentences), embedded, len(items.keys) - embedded, added, changed,
                       removed, len(per_source) - len(added) - len(changed), t, "full")


def _domain_vectors(index_dir: Path, embedder, log) -> tuple[np.ndarray, str]:
    """The in-domain background questions' vectors and the questions' sha256: the previous index's
    when it was made from the same questions by the same model (and its file is intact), else embedded."""
    questions, sha = domain_questions()
    f = index_dir / "domain.npy"
    try:
        m = _read_manifest(index_dir)
        if (m.get("domain_questions") == sha and m["model"]["fingerprint"] == embedder.fingerprint
                and m["files"].get("domain.npy") == _sha256(f)):
            return np.load(f, allow_pickle=False), sha
    except (BadIndexError, KeyError, TypeError, OSError, ValueError):
        pass
    return embed_domain(embedder, questions, log), sha


def _extend_calibration(index_dir: Path, calibration: dict, chunk_vectors: np.ndarray) -> dict:
    background = np.load(index_dir / "background.npy", allow_pickle=False)
    tops = np.asarray(calibration.get("tops") or [], np.float32)
    return _calibration(background, chunk_vectors, tops if len(tops) else None)
