"""Reading an index folder: its manifest, the checksums of its files and its segments, into the
loaded record (``qa.loaded.Index``); how to rebuild it (the sources it records, the command), an
interrupted swap put right, and which of its sources changed on disk since.

The folder layout and how builds write it are described in ``qa.index``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from .bm25 import Bm25, TermCounts
from .chunks import Chunk, Sentence
from .errors import BadIndexError
from .loaded import Index, source_options
from .stores.faiss_store import FaissStore

FORMAT_VERSION = 3  # 3: domain.npy
DEFAULT_INDEX = Path("indexes/default")


def recorded_source_paths(index_dir: str | os.PathLike, *, existing: bool = False) -> list[str]:
    """The source paths (folders or files) the index was built from, as its manifest records them
    (only those still on disk with ``existing``); [] when the manifest is unreadable or older than
    this record.  Reads the manifest itself rather than through ``read_manifest``, whose error
    message is built from this function and which must never raise here."""
    try:
        paths = _source_paths(json.loads((Path(index_dir) / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return []
    return [x for x in paths if Path(x).exists()] if existing else paths


def _source_paths(manifest) -> list[str]:
    """The source paths a manifest records ([] when it records none, or is no JSON object)."""
    paths = manifest.get("source_paths") if isinstance(manifest, dict) else None
    return [str(x) for x in paths] if isinstance(paths, list) else []


def own_sources(index_dir: str | os.PathLike) -> list[str]:
    """What to rebuild or update ``index_dir`` from when no source is named: the recorded source paths
    still on disk, or, for an index older than that record, its recorded files still on disk."""
    return recorded_source_paths(index_dir, existing=True) or [f for f in source_files(index_dir) if Path(f).exists()]


def index_command(path: str | os.PathLike, manifest: dict | None = None) -> str:
    """The command that rebuilds or updates ``path`` from the sources it was built from (never
    silently from seeds/ instead), as its ``manifest`` records them (read from the folder when not given)."""
    recorded = recorded_source_paths(path) if manifest is None else _source_paths(manifest)
    return f"python -m qa index --index {path}{source_options(recorded)}"


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
                 pages, rebuild_command=index_command(p, manifest))  # the manifest read above, not read again


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
    from .sources import SourceError, documents_in

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
            current = {d.source.partition("#")[2]: d.sha256 for d in documents_in(Path(path))}
        except (SourceError, OSError):
            out.extend(srcs)
            continue
        for src in srcs:
            if current.get(src.partition("#")[2]) != recorded[src]["sha256"]:
                out.append(src)
    return out
