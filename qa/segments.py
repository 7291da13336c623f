"""Segment files: the plain files of one index segment and the folder around them — writing a
segment (FAISS vectors, chunks, sentences and their vectors, BM25 counts, sources), its checksums and
the manifest (written atomically: the commit point), reading back a previous build's vectors for
reuse, and the folder's housekeeping (the build lock, the atomic swap of a rebuilt folder, what a
killed build left, the write check before any embedding).  What goes into a segment is decided in
``qa.index``; reading a folder for answering is ``qa.index_folder``."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .bm25 import FILES as BM25_FILES
from .bm25 import TermCounts
from .build_items import Items, embed_key, sentence_key
from .chunks import Chunk, Sentence
from .errors import BadIndexError, IndexWriteError
from .index_folder import read_jsonl, read_manifest, seg_dir, seg_rel, sha256, verify_files
from .loaded import article_info
from .sources import Document, display_path
from .stores.faiss_store import FaissStore

SEGMENT_FILES = ("index.faiss", "chunks.jsonl", "sources.jsonl", "sentences.jsonl", "sentences.npy",
                 *(f"bm25/{f}" for f in BM25_FILES))
DELTA_NAME = re.compile(r"delta-(\d{3,})")  # an appended segment's folder


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """One JSON object per line, UTF-8 as typed."""
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


def swap_in(tmp: Path, index_dir: Path) -> None:
    """Put the finished folder ``tmp`` in place of ``index_dir`` by renames (``qa.index_folder.recover``
    finishes a swap a crash interrupted)."""
    old = None
    if index_dir.exists():
        old = index_dir.parent / f".{index_dir.name}.old-{os.getpid()}"
        os.replace(index_dir, old)
    os.replace(tmp, index_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def clean_stale(index_dir: Path) -> None:
    """Remove what a killed build left (called under the build lock, after ``qa.index_folder.recover``, so no live
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
        listed = set(read_manifest(index_dir).get("segments", []))
    except (BadIndexError, TypeError):
        return  # the full rebuild that follows replaces the whole folder
    for d in index_dir.iterdir():
        if d.is_dir() and (d.name.startswith(".delta-") or (DELTA_NAME.fullmatch(d.name) and d.name not in listed)):
            shutil.rmtree(d, ignore_errors=True)


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


def segment_vectors(index_dir: Path, manifest: dict, seg: str, log) -> Iterable[tuple[str, np.ndarray, str]]:
    """(embed key, vector, tokens) of every item of one segment whose files are intact; a damaged
    file is logged and only the items it holds are left out."""
    d = seg_dir(index_dir, seg)

    def intact(*names: str) -> bool:
        try:
            verify_files(index_dir, manifest, [seg_rel(seg, n) for n in names])
            return True
        except BadIndexError as e:
            log(f"{e.args[0].split(';')[0]}: its items are embedded again")
            return False

    try:
        if not intact("chunks.jsonl"):
            return
        chunk_rows = read_jsonl(d / "chunks.jsonl")
        if intact("index.faiss"):
            fx = FaissStore.read(d / "index.faiss")
            if fx.ntotal == len(chunk_rows):
                vecs = fx.vectors()
                for r, v in zip(chunk_rows, vecs):
                    yield embed_key(Chunk.from_json(r)), v, r.get("tokens", "")
        if intact("sentences.jsonl", "sentences.npy"):
            srows = read_jsonl(d / "sentences.jsonl")
            svecs = np.load(d / "sentences.npy", allow_pickle=False)
            if len(svecs) == len(srows):
                arts = article_info(chunk_rows)
                for r, v in zip(srows, svecs):
                    a = arts.get((r["source"], r["article"])) or {}
                    title = " ".join(x for x in (a.get("title", ""), a.get("byline", "")) if x)
                    yield sentence_key(title, Sentence.from_json(r)), v.astype(np.float32), r.get("tokens", "")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
        log(f"index {index_dir}: segment {seg or 'base'} not reusable ({e}); its items are embedded again")


def write_segment(d: Path, items: Items, vecs: np.ndarray, tokens: list[str], docs: Sequence[Document]) -> None:
    """The segment files for ``items`` into folder ``d`` (which exists)."""
    n = len(items.chunks)
    FaissStore.flat(vecs.shape[1], vecs[:n]).write(d / "index.faiss")
    TermCounts.count(t.split(" ") if t else [] for t in tokens[:n]).save(d / "bm25")
    write_jsonl(d / "chunks.jsonl", ({**c.to_json(), "tokens": tk} for c, tk in zip(items.chunks, tokens)))
    write_jsonl(d / "sentences.jsonl", ({**x.to_json(), "tokens": tk} for x, tk in zip(items.sentences, tokens[n:])))
    np.save(d / "sentences.npy", vecs[n:].astype(np.float16), allow_pickle=False)
    write_jsonl(d / "sources.jsonl",
                 ({"source": x.source, "sha256": x.sha256, "kind": x.kind, "title": x.title, "text": x.text,
                   **({"pages": list(x.pages)} if x.pages else {})} for x in docs))


def corpus_fingerprint(per_source: dict) -> str:
    return hashlib.sha256("".join(f"{s}\0{v['sha256']}\n" for s, v in sorted(per_source.items())).encode()).hexdigest()


def file_hashes(files: Sequence[Path], docs: Sequence[Document]) -> dict[str, str]:
    """sha256 of the bytes of each file that gave at least one document (display path → digest)."""
    used = {d.source.partition("#")[0] for d in docs}
    return {name: sha256(f) for f in files if (name := display_path(f)) in used}


def file_records(d: Path, rels: Sequence[str], prefix: str = "") -> tuple[dict[str, str], dict[str, int]]:
    """sha256 and size of files ``rels`` in folder ``d``, keyed as the manifest lists them
    (under ``prefix/`` for a delta segment)."""
    return ({seg_rel(prefix, r): sha256(d / r) for r in rels}, {seg_rel(prefix, r): (d / r).stat().st_size for r in rels})


def fsync_tree(d: Path) -> None:
    for f in d.rglob("*"):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())


def write_manifest(d: Path, manifest: dict) -> None:
    import orjson  # a 100k-source manifest: ~0.05 s instead of ~1 s with json

    tmp = d / f".manifest.json.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, d / "manifest.json")
