"""Index building: bring an index folder up to date with its sources — nothing to do, a delta segment
appended, or the whole index rewritten with every unchanged text's vector reused.  What a build embeds
(items, embed keys, checkpointed embedding, tokens) is in ``qa.build_items``; writing a segment's
files, the manifest, the lock and the swap in ``qa.segments``; the loaded record in ``qa.loaded`` and
reading a folder in ``qa.index_folder`` (both re-exported here); refusal calibration data in ``qa.calibration``.

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

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import segments
from .build_items import Checkpoint, prepare_items, reusable_tokens
from .calibration import background_questions, domain_questions, embed_domain
from .calibration import calibration as _calibration
from .chunks import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE
from .errors import BadIndexError
from .index_folder import (DEFAULT_INDEX, FORMAT_VERSION, index_command, load_index, own_sources,
                           read_manifest as _read_manifest, rebuild_hint, recorded_source_paths, recover as _recover,
                           sha256 as _sha256, source_files, stale_sources, verify_files as _verify)
from .loaded import Index
from .segments import check_writable, corpus_fingerprint, file_hashes
from .sources import Document, SourceWarning, discover, display_path, load_documents

__all__ = ["BadIndexError", "BuildReport", "corpus_fingerprint", "file_hashes", "DEFAULT_INDEX", "FORMAT_VERSION", "Index",
           "chunking_settings",
           "background_questions", "build_index", "check_writable", "index_command", "load_index", "own_sources", "rebuild_hint",
           "recorded_source_paths", "source_files", "stale_sources"]

PARSER_VERSION = 7  # bump when articles/chunks change in a way that alters chunk text
MAX_DELTAS = 8  # appends before the next build rewrites one base segment


def chunking_settings(chunk_size: int, chunk_overlap: int, with_sentences: bool) -> dict:
    """What an index's chunks and their BM25 words depend on besides the model, as its manifest records
    it: chunk size and overlap, the parser's version, sentence vectors, and the tokenizer
    (``qa.tokens.fingerprint``).  A build with other settings rewrites the index (vectors of unchanged
    text reused; words cut again when the tokenizer changed)."""
    from .tokens import fingerprint

    return {"size": chunk_size, "overlap": chunk_overlap, "parser": PARSER_VERSION, "sentences": with_sentences,
            "tokenizer": fingerprint()}


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
        for key, vec, tokens in segments.segment_vectors(index_dir, m, seg, log):
            by_key[key], old_tokens[key] = vec, tokens
    if m.get("chunking") != chunking:
        log("chunking settings changed; unchanged chunk texts still reuse their vectors")
    return by_key, m.get("sources", {}), reusable_tokens(m.get("chunking"), chunking, old_tokens)


def build_index(sources: Sequence[str | os.PathLike] = ("seeds",), index_dir: str | os.PathLike = DEFAULT_INDEX,
                embedder=None, *, chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
                progress: bool = True, log: Callable[[str], None] = print, with_sentences: bool = True,
                max_deltas: int = MAX_DELTAS) -> BuildReport:
    """Bring the index at ``index_dir`` up to date with ``sources``, embedding only what is new.

    Nothing changed: nothing is written.  Only new files: they are appended as a delta segment.
    Otherwise (or after ``max_deltas`` appends) the index is rewritten (atomically) as one base segment."""
    from .embed import get_embedder

    index_dir = Path(index_dir)
    embedder = embedder or get_embedder()
    chunking = chunking_settings(chunk_size, chunk_overlap, with_sentences)
    check_writable(index_dir)  # before any embedding: a read-only place fails now, with a clear message
    source_paths = [str(Path(s).resolve()) for s in sources]
    with segments.build_lock(index_dir, log):
        _recover(index_dir)
        segments.clean_stale(index_dir)
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
                if len(prev["segments"]) <= max_deltas:
                    _verify(index_dir, prev, sizes_only=True)  # checksums are checked by every load
                    return _append(index_dir, prev, docs, new_files, embedder, chunk_size, chunk_overlap,
                                   with_sentences, progress, log, time.perf_counter() - t0, source_paths)
            except BadIndexError as e:
                log(f"{e}: rewriting the index")
        return _rebuild(index_dir, files, embedder, chunking, progress, log, source_paths)


def _appendable(index_dir: Path, embedder, chunking: dict) -> dict | None:
    """The manifest of an index a delta can be appended to (this format, model and chunking), else None."""
    try:
        m = _read_manifest(index_dir)
        ok = (m.get("format") == FORMAT_VERSION and m["model"]["id"] == embedder.model_id
              and m["model"]["fingerprint"] == embedder.fingerprint and m.get("chunking") == chunking
              and isinstance(m.get("source_files"), dict) and m.get("segments")
              # in-domain background questions changed (qa/data/domain_questions.txt): each sentence's reach
              # must be measured against the new ones, so the index is rewritten (its vectors reused)
              and m.get("domain_questions") == domain_questions()[1])
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
    taken = [int(m.group(1)) for s in prev["segments"] if (m := segments.DELTA_NAME.fullmatch(s))]
    name = f"delta-{max(taken, default=0) + 1:03d}"
    tmp = index_dir / f".{name}.tmp-{os.getpid()}"
    try:
        tmp.mkdir()
        segments.write_segment(tmp, items, vecs, tokens, docs)
        files_sha, sizes = segments.file_records(tmp, segments.SEGMENT_FILES, prefix=name)
        segments.fsync_tree(tmp)
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
        segments.write_manifest(index_dir, manifest)  # the commit point
    except BaseException:
        shutil.rmtree(index_dir / name, ignore_errors=True)
        raise
    Checkpoint(index_dir, embedder.fingerprint, embedder.dim).clear()
    t["write"] = time.perf_counter() - t0
    return BuildReport(index_dir, manifest["counts"]["chunks"], manifest["counts"]["sentences"], embedded,
                       len(items.keys) - embedded, tuple(items.per_source), (), (), len(prev["sources"]), t, "append")


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
        segments.write_segment(tmp, items, vecs, tokens, docs)
        t["write"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        background = embedder.encode_queries(background_questions())
        np.save(tmp / "background.npy", background.astype(np.float32), allow_pickle=False)
        calibration = _calibration(background, vecs[:n])
        domain, domain_sha = _domain_vectors(index_dir, embedder, log)
        np.save(tmp / "domain.npy", domain, allow_pickle=False)
        t["calibrate"] = time.perf_counter() - t0
        files_sha, sizes = segments.file_records(tmp, (*segments.SEGMENT_FILES, "background.npy", "domain.npy"))
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
        segments.write_manifest(tmp, manifest)
        segments.swap_in(tmp, index_dir)
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
