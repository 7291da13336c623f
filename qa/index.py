"""Index: build, update and load the on-disk index folder.

An index is a folder of plain files:

- ``index.faiss``: inner-product FAISS index over L2-normalised chunk vectors (cosine);
- ``chunks.jsonl``: one chunk per line (UTF-8, readable), in FAISS row order, with its BM25 tokens;
- ``sources.jsonl``: each source's name, sha256 and full text, so citations show in place;
- ``sentences.jsonl`` + ``sentences.npy``: every sentence with its spans and words, and its vector
  (float16), so the extractive answer scores sentences without running the model;
- ``bm25/``: the persisted BM25 index (bm25s: JSON + .npy arrays, no pickle);
- ``manifest.json``: format version, model id + weight fingerprint, dim, chunking settings,
  per-source hashes and chunk counts, and the sha256 of every file above.

Building is incremental: a chunk whose embedding input (context + text) was in the previous index
keeps its vector, so adding, changing or removing one bulletin embeds only that bulletin's new
chunks.  Writing is atomic: the new index is written to a sibling temporary folder and swapped in
with renames; a crash leaves the previous index in place (or recoverable on the next load).  A file
lock serialises concurrent builds.  Loading checks format, model and checksums and says how to
rebuild when they do not match.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .chunks import (DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, Chunk, Sentence, articles_of, chunk_article,
                     make_splitter, sentences_of)
from .sources import Document, load_documents

FORMAT_VERSION = 1
PARSER_VERSION = 1  # bump when articles/chunks change in a way that alters chunk text
DEFAULT_INDEX = Path("indexes/default")
FILES = ("index.faiss", "chunks.jsonl", "sources.jsonl", "sentences.jsonl", "sentences.npy",
         "bm25/params.index.json", "bm25/vocab.index.json",
         "bm25/data.csc.index.npy", "bm25/indices.csc.index.npy", "bm25/indptr.csc.index.npy")


class BadIndexError(RuntimeError):
    """The index is missing, corrupt, or was built differently; the message says how to rebuild."""


def rebuild_hint(path: Path) -> str:
    return f"rebuild it with: python -m qa index --index {path}"


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

    def summary(self) -> str:
        parts = [f"{self.chunks} chunks + {self.sentences} sentences ({self.embedded} embedded, {self.reused} reused)"]
        for name, xs in (("added", self.added), ("changed", self.changed), ("removed", self.removed)):
            if xs:
                shown = ", ".join(xs[:3]) + (f" and {len(xs) - 3} more" if len(xs) > 3 else "")
                parts.append(f"{name} {len(xs)}: {shown}")
        parts.append(f"{self.unchanged} sources unchanged")
        return f"index {self.path}: " + "; ".join(parts)


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
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


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
    tokens: list[list[str]]
    faiss: object
    bm25: object
    texts: dict[str, str]  # source → full text
    sentences: list[Sentence] = field(default_factory=list)
    sentence_vectors: np.ndarray | None = None  # float16, row per sentence
    sentence_token_lists: list[list[str]] = field(default_factory=list)
    _cache: dict = field(default_factory=dict, repr=False)

    # -- lookups used by answers (computed once per loaded index)
    def sentence_ids_by_chunk(self) -> dict[str, list[int]]:
        if "s_by_c" not in self._cache:
            by_art: dict[tuple, list[int]] = {}
            for i, s in enumerate(self.sentences):
                by_art.setdefault((s.source, s.article), []).append(i)
            out = {}
            for c in self.chunks:
                ids = by_art.get((c.source, c.article), [])
                out[c.id] = [i for i in ids if self.sentences[i].start < c.end and self.sentences[i].end > c.start]
            self._cache["s_by_c"] = out
        return self._cache["s_by_c"]

    def sentence_tokens(self, sid: int) -> list[str]:
        return self.sentence_token_lists[sid]

    def tokens_of(self, chunk: Chunk) -> list[str]:
        if "tok_by_id" not in self._cache:
            self._cache["tok_by_id"] = {c.id: t for c, t in zip(self.chunks, self.tokens)}
        return self._cache["tok_by_id"].get(chunk.id, [])

    def idf(self, tokens) -> dict[str, float]:
        """BM25-style idf of each token over chunks (unknown tokens get the maximum)."""
        if "df" not in self._cache:
            vocab = self.bm25.vocab_dict if self.bm25 is not None else {}
            indptr = np.asarray(self.bm25.scores["indptr"]) if self.bm25 is not None else np.zeros(1)
            df = np.diff(indptr)
            self._cache["df"] = (vocab, df)
        vocab, df = self._cache["df"]
        n = max(1, len(self.chunks))
        out = {}
        for t in tokens:
            i = vocab.get(t)
            d = float(df[i]) if i is not None and i < len(df) else 0.0
            out[t] = float(np.log(1 + (n - d + 0.5) / (d + 0.5)))
        return out

    def _articles(self) -> dict[tuple, dict]:
        if "arts" not in self._cache:
            arts: dict[tuple, dict] = {}
            for c in self.chunks:
                a = arts.setdefault((c.source, c.article), {"title": c.title, "byline": c.byline, "column": c.column,
                                                            "text": c.text})
                if not a["title"] and c.title:
                    a["title"] = c.title
            self._cache["arts"] = arts
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


def load_index(path: str | os.PathLike = DEFAULT_INDEX, *, verify: bool = True) -> Index:
    """Load an index folder; raise BadIndexError with a rebuild hint when it is missing, corrupt or foreign."""
    import bm25s
    import faiss

    p = Path(path)
    _recover(p)
    mpath = p / "manifest.json"
    if not mpath.is_file():
        raise BadIndexError(f"no index at {p} (manifest.json missing); build it with: python -m qa index --index {p}")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BadIndexError(f"index {p}: manifest.json is unreadable ({e}); {rebuild_hint(p)}") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise BadIndexError(f"index {p} has format {manifest.get('format')!r}, this version reads {FORMAT_VERSION}; "
                         f"{rebuild_hint(p)}")
    if verify:
        for rel, digest in manifest.get("files", {}).items():
            f = p / rel
            if not f.is_file():
                raise BadIndexError(f"index {p}: {rel} is missing; {rebuild_hint(p)}")
            if _sha256(f) != digest:
                raise BadIndexError(f"index {p}: {rel} is corrupt (checksum mismatch); {rebuild_hint(p)}")
    try:
        rows = _read_jsonl(p / "chunks.jsonl")
        chunks = [Chunk.from_json(r) for r in rows]
        tokens = [r.get("tokens", "").split(" ") if r.get("tokens") else [] for r in rows]
        texts = {r["source"]: r["text"] for r in _read_jsonl(p / "sources.jsonl")}
        srows = _read_jsonl(p / "sentences.jsonl")
        sentences = [Sentence.from_json(r) for r in srows]
        stokens = [r.get("tokens", "").split(" ") if r.get("tokens") else [] for r in srows]
        svecs = np.load(p / "sentences.npy", allow_pickle=False)
        fx = faiss.read_index(str(p / "index.faiss"))
        bm = bm25s.BM25.load(str(p / "bm25")) if chunks else None
    except Exception as e:  # any parse failure is a corrupt index to the user
        raise BadIndexError(f"index {p} cannot be read ({type(e).__name__}: {e}); {rebuild_hint(p)}") from None
    if fx.ntotal != len(chunks) or (chunks and fx.d != manifest["model"]["dim"]):
        raise BadIndexError(f"index {p}: {fx.ntotal} vectors for {len(chunks)} chunks; {rebuild_hint(p)}")
    if len(svecs) != len(sentences):
        raise BadIndexError(f"index {p}: {len(svecs)} sentence vectors for {len(sentences)} sentences; {rebuild_hint(p)}")
    return Index(p, manifest, chunks, tokens, fx, bm, texts, sentences, svecs if svecs.size else None, stokens)


# ---------------------------------------------------------------- building

def _previous(index_dir: Path, embedder, chunking: dict, log) -> tuple[dict[str, np.ndarray], dict, dict]:
    """Vectors (by embed key) and per-source info of a compatible previous index, else empties."""
    if not (index_dir / "manifest.json").is_file():
        return {}, {}, {}
    try:
        old = load_index(index_dir)
    except BadIndexError as e:
        log(f"previous index not reusable ({e}); building from scratch")
        return {}, {}, {}
    m = old.manifest
    if m["model"]["id"] != embedder.model_id or m["model"]["fingerprint"] != embedder.fingerprint:
        log(f"previous index used model {m['model']['id']}; re-embedding everything")
        return {}, m.get("sources", {}), {}
    vecs = old.vectors()
    by_key = {embed_key(c): vecs[i] for i, c in enumerate(old.chunks)}
    old_tokens = {embed_key(c): t for c, t in zip(old.chunks, old.tokens)}
    if old.sentence_vectors is not None:
        for i, s in enumerate(old.sentences):
            key = sentence_key(_title_of(old, s), s)
            by_key[key] = old.sentence_vectors[i].astype(np.float32)
            old_tokens[key] = old.sentence_token_lists[i]
    if m.get("chunking") != chunking:
        log("chunking settings changed; unchanged chunk texts still reuse their vectors")
    return by_key, m.get("sources", {}), old_tokens


def _title_of(index: "Index", s: Sentence) -> str:
    a = index._articles().get((s.source, s.article))
    return " ".join(x for x in ((a or {}).get("title", ""), (a or {}).get("byline", "")) if x)


def build_index(sources: Sequence[str | os.PathLike] = ("seeds",), index_dir: str | os.PathLike = DEFAULT_INDEX,
                embedder=None, *, chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
                progress: bool = True, log: Callable[[str], None] = print,
                documents: Sequence[Document] | None = None, with_sentences: bool = True) -> BuildReport:
    """Parse, chunk, embed (only what is new) and write the index atomically."""
    import bm25s
    import faiss

    from .embed import get_embedder
    from .tokens import tokenize

    index_dir = Path(index_dir)
    embedder = embedder or get_embedder()
    t = {}
    with build_lock(index_dir, log):
        _recover(index_dir)
        for stale in index_dir.parent.glob(f".{index_dir.name}.tmp-*"):  # left by a killed build
            shutil.rmtree(stale, ignore_errors=True)
        t0 = time.perf_counter()
        docs = list(documents) if documents is not None else load_documents(sources)
        t["parse"] = time.perf_counter() - t0
        if not docs:
            raise BadIndexError(f"no readable documents in {', '.join(map(str, sources))}; nothing to index")
        splitter = make_splitter(chunk_size, chunk_overlap)
        chunks: list[Chunk] = []
        sentences: list[Sentence] = []
        sentence_context: list[str] = []
        per_source: dict[str, dict] = {}
        t0 = time.perf_counter()
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
        t["chunk"] = time.perf_counter() - t0
        chunking = {"size": chunk_size, "overlap": chunk_overlap, "parser": PARSER_VERSION, "sentences": with_sentences}
        t0 = time.perf_counter()
        old_vecs, old_sources, old_tokens = _previous(index_dir, embedder, chunking, log)
        t["load_previous"] = time.perf_counter() - t0

        # Everything to embed: chunks first, then sentences; reuse any vector the old index had.
        keys = [embed_key(c) for c in chunks] + [sentence_key(ctx, x) for ctx, x in zip(sentence_context, sentences)]
        texts = [c.text for c in chunks] + [x.text for x in sentences]
        ctxs = [c.context for c in chunks] + sentence_context
        dim = embedder.dim
        vecs = np.zeros((len(keys), dim), np.float32)
        todo = []
        for i, k in enumerate(keys):
            if k in old_vecs:
                vecs[i] = old_vecs[k]
            else:
                todo.append(i)
        t0 = time.perf_counter()
        checkpoint = _Checkpoint(index_dir, embedder.fingerprint, dim)
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
            n_chunks_todo = sum(1 for i in todo if i < len(chunks))
            bar = _progress_bar(len(todo), f"embedding {n_chunks_todo} chunks + {len(todo) - n_chunks_todo} sentences",
                                progress)
            for b0 in range(0, len(todo), _Checkpoint.EVERY):
                part = todo[b0:b0 + _Checkpoint.EVERY]
                vecs[part] = embedder.encode_documents([texts[i] for i in part], [ctxs[i] for i in part],
                                                       progress=bar.update)
                if len(todo) > _Checkpoint.EVERY:
                    checkpoint.save([keys[i] for i in part], vecs[part])
            bar.close()
        t["embed"] = time.perf_counter() - t0
        chunk_vecs, sent_vecs = vecs[: len(chunks)], vecs[len(chunks):]

        t0 = time.perf_counter()
        all_tokens = [old_tokens.get(k) or tokenize(f"{c}\n{x}" if i < len(chunks) else x)
                      for i, (k, c, x) in enumerate(zip(keys, ctxs, texts))]
        tokens, sent_tokens = all_tokens[: len(chunks)], all_tokens[len(chunks):]
        t["tokenize"] = time.perf_counter() - t0

        index_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-", dir=index_dir.parent))
        try:
            t0 = time.perf_counter()
            fx = faiss.IndexFlatIP(dim)
            if len(chunks):
                fx.add(np.ascontiguousarray(chunk_vecs))
            faiss.write_index(fx, str(tmp / "index.faiss"))
            t["faiss"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            bm = bm25s.BM25()
            bm.index([tk or [""] for tk in tokens], show_progress=False)
            bm.save(str(tmp / "bm25"))
            t["bm25"] = time.perf_counter() - t0
            _write_jsonl(tmp / "chunks.jsonl",
                         ({**c.to_json(), "tokens": " ".join(tk)} for c, tk in zip(chunks, tokens)))
            _write_jsonl(tmp / "sentences.jsonl",
                         ({**x.to_json(), "tokens": " ".join(tk)} for x, tk in zip(sentences, sent_tokens)))
            np.save(tmp / "sentences.npy", sent_vecs.astype(np.float16), allow_pickle=False)
            _write_jsonl(tmp / "sources.jsonl",
                         ({"source": d.source, "sha256": d.sha256, "kind": d.kind, "title": d.title, "text": d.text}
                          for d in docs))
            t0 = time.perf_counter()
            calibration = calibrate(embedder, chunk_vecs)
            t["calibrate"] = time.perf_counter() - t0
            manifest = {
                "format": FORMAT_VERSION,
                "calibration": calibration,
                "model": {"id": embedder.model_id, "fingerprint": embedder.fingerprint, "dim": dim},
                "chunking": chunking,
                "sources": per_source,
                "counts": {"sources": len(docs), "chunks": len(chunks), "sentences": len(sentences)},
                "corpus_fingerprint": hashlib.sha256(
                    "".join(f"{s}\0{v['sha256']}\n" for s, v in sorted(per_source.items())).encode()).hexdigest(),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "files": {rel: _sha256(tmp / rel) for rel in FILES},
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
            _swap_in(tmp, index_dir)
            checkpoint.clear()
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    added = tuple(s for s in per_source if s not in old_sources)
    changed = tuple(s for s in per_source if s in old_sources and old_sources[s]["sha256"] != per_source[s]["sha256"])
    removed = tuple(s for s in old_sources if s not in per_source)
    return BuildReport(index_dir, len(chunks), len(sentences), len(todo), len(keys) - len(todo), added, changed, removed,
                       len(per_source) - len(added) - len(changed), t)


def background_questions() -> list[str]:
    path = Path(__file__).with_name("data") / "background_questions.txt"
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]


def calibrate(embedder, chunk_vectors: np.ndarray) -> dict:
    """Top-hit cosines of off-domain background questions against this corpus.

    Their mean and spread say what "nothing relevant" scores for this model and corpus; the
    answerer refuses questions whose best match does not rise well above it (see qa.answer).
    """
    qs = background_questions()
    if not len(chunk_vectors) or not qs:
        return {"background_mean": 0.0, "background_std": 1.0, "background_max": 0.0, "n": 0}
    tops = (embedder.encode_queries(qs) @ chunk_vectors.T).max(axis=1)
    return {"background_mean": round(float(tops.mean()), 5), "background_std": round(max(float(tops.std()), 1e-3), 5),
            "background_max": round(float(tops.max()), 5), "n": len(qs)}


def source_files(index: Index) -> list[str]:
    """The files an index was built from (JSONL records collapse to their file)."""
    return sorted({src.partition("#")[0] for src in index.manifest.get("sources", {})})


def stale_sources(index: Index) -> list[str]:
    """Sources whose file on disk no longer matches what was indexed (each file read once)."""
    from .sources import SourceError, _documents_in

    recorded = index.manifest.get("sources", {})
    by_file: dict[str, list[str]] = {}
    for src in recorded:
        by_file.setdefault(src.partition("#")[0], []).append(src)
    out = []
    for path, srcs in by_file.items():
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
