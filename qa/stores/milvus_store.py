"""The Milvus backend: an index kept in Milvus (Milvus Lite from a local ``.db`` file, or a standalone /
cluster server at ``http://HOST:19530``) instead of a folder.

One index generation is four collections, ``{name}_g{N}_chunks`` (row, id, source, title, column,
offsets, text, dense vector, and the whole chunk record with its BM25 tokens), ``_sentences`` (each
sentence with its vector), ``_sources`` (each source's text, in parts, so citations verify in place)
and ``_meta`` (the manifest: model fingerprint, chunking, calibration, per-source hashes; and the
background questions' vectors).  The alias ``{name}`` names the current generation's ``_meta``
collection.

Updates: new bulletins only → their rows are inserted into the current generation after the
committed ones, and the manifest (written under a new version key, then a one-row pointer upserted:
the commit point) raises the counts; loads and searches never read rows beyond the counts, so a killed
append is never served, and the next build deletes what it left.  A bulletin changed or removed, or a
new model or chunking → a whole new generation, every vector already stored under the same embedding
input reused (unchanged sources are not embedded again), and the alias moved last; a build killed
midway leaves the alias, and so the previous generation, answering.  The generation before the current
one is kept (a process that loaded it still searches it); older ones are dropped.

Lexical search uses the project's own BM25 over the stored tokens, counted in the loading process
(as for folders; scripts/compare_milvus.py measures it against Milvus's built-in BM25).
``MilvusVectors`` is the ``VectorStore`` the loaded index searches: dense search runs in Milvus, pinned
to the generation that was loaded.

Environment: ``QA_MILVUS_TOKEN`` (``user:password`` or an API key) for a server that requires it.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..bm25 import Bm25, TermCounts
from ..calibration import background_questions, calibration, domain_questions, embed_domain
from ..chunks import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, Chunk, Sentence
from ..errors import BadIndexError
from ..index import (PARSER_VERSION, BuildReport, corpus_fingerprint, embed_items, embed_key, file_hashes,
                     item_tokens, plan_items, sentence_key)
from ..loaded import FORMAT_VERSION, Index, article_info, sha256
from ..sources import discover, display_path, load_documents
from .base import VectorStore

PREFIX = "milvus:"
DEFAULT_COLLECTION = "bulletins"
BATCH = 512
TEXT_PART = 16000  # characters of a source text per row (VARCHAR holds 65535 bytes)
META_PART = 60000
_GEN = re.compile(r"(?P<name>.+)_g(?P<gen>\d+)_(?P<kind>chunks|sentences|sources|meta)")
_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def is_milvus(address) -> bool:
    return isinstance(address, str) and address.startswith(PREFIX)


def uri_of(address: str) -> str:
    """``milvus:/tmp/x.db`` → ``/tmp/x.db``; ``milvus:http://host:19530`` → ``http://host:19530``."""
    uri = address[len(PREFIX):]
    if not uri:
        raise BadIndexError(f"index address {address!r}: give milvus:PATH.db or milvus:http://HOST:19530")
    return uri


def index_command(address: str, collection: str, manifest: dict | None = None) -> str:
    paths = (manifest or {}).get("source_paths") or []
    src = "".join(f" --source {p}" for p in paths) if paths else " --source <the folders it was built from>"
    coll = f" --collection {collection}" if collection != DEFAULT_COLLECTION else ""
    return f"python -m qa index --index {address}{coll}{src}"


def client(address: str):
    """One MilvusClient per address and process (Milvus Lite serves a file to one process)."""
    uri = uri_of(address)
    with _clients_lock:
        if uri not in _clients:
            from pymilvus import MilvusClient

            import logging

            logging.getLogger("pymilvus").setLevel(logging.ERROR)  # per-iterator "mvccTs" notices of Milvus Lite

            if not uri.startswith(("http://", "https://", "tcp://", "unix:")):
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
            _clients[uri] = MilvusClient(uri, token=os.environ.get("QA_MILVUS_TOKEN", ""))
        return _clients[uri]


class MilvusVectors(VectorStore):
    """Dense inner-product search in one generation's chunk collection (row ids are the primary key)."""

    def __init__(self, mc, collection: str, n: int, dim: int):
        self._mc, self._coll, self._n, self._dim = mc, collection, n, dim
        _loaded(mc, collection)

    @property
    def ntotal(self) -> int:
        return self._n

    @property
    def dim(self) -> int:
        return self._dim

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(queries, np.float32)
        sims = np.full((len(q), k), -np.inf, np.float32)
        ids = np.full((len(q), k), -1, np.int64)
        if not self._n or not len(q):
            return sims, ids
        res = self._mc.search(self._coll, data=q.tolist(), anns_field="vec", limit=min(k, self._n),
                              filter=f"row < {self._n}",  # rows of an append not committed are never served
                              search_params={"metric_type": "IP"}, output_fields=["row"])
        for i, hits in enumerate(res):
            for j, h in enumerate(hits):
                ids[i, j], sims[i, j] = int(h["entity"]["row"]), float(h["distance"])
        return sims, ids

    def reconstruct(self, ids) -> np.ndarray:
        ids = [int(i) for i in ids]
        if not ids:
            return np.zeros((0, self._dim), np.float32)
        rows = {}
        for b in range(0, len(ids), BATCH):
            for r in self._mc.get(self._coll, ids=ids[b:b + BATCH], output_fields=["vec"]):
                rows[int(r["row"])] = r["vec"]
        return np.asarray([rows[i] for i in ids], np.float32)

    def vectors(self) -> np.ndarray:
        rows = _all(self._mc, self._coll, ["row", "vec"], below=self._n)
        return (np.asarray([r["vec"] for r in rows], np.float32) if rows
                else np.zeros((0, self._dim), np.float32))


# ---------------------------------------------------------------- reading

def _loaded(mc, coll: str) -> str:
    """``coll``, loaded for search and query (a new process finds collections released)."""
    state = str(mc.get_load_state(coll).get("state", ""))
    if not state.endswith("Loaded"):
        mc.load_collection(coll)
    return coll


def _all(mc, coll: str, fields: list[str], key: str = "row", below: int | None = None) -> list[dict]:
    """Every row of ``coll`` (``fields``), sorted by ``key``; with ``below``, rows numbered under it only."""
    _loaded(mc, coll)
    expr = (f"row >= 0 and row < {below}" if below is not None else "row >= 0") if key == "row" else f'{key} != ""'
    it = mc.query_iterator(coll, batch_size=1000, filter=expr, output_fields=fields)
    out = []
    while True:
        batch = it.next()
        if not batch:
            break
        out.extend(dict(r) for r in batch)
    it.close()
    return sorted(out, key=lambda r: r[key])


def current_generation(mc, name: str) -> int | None:
    """The generation the alias ``name`` names, or None when there is none."""
    try:
        if name not in mc.list_aliases().get("aliases", []):
            return None
        m = _GEN.fullmatch(mc.describe_alias(name)["collection_name"])
    except Exception:  # noqa: BLE001 - an unreachable server is reported by the caller's next call
        return None
    return int(m["gen"]) if m and m["name"] == name else None


def _read_meta(mc, coll: str) -> tuple[dict, dict[str, np.ndarray]]:
    rows = _all(mc, coll, ["key", "value"], key="key")
    parts: dict[str, list[tuple[int, str]]] = {}
    for r in rows:
        name, _, i = r["key"].rpartition("/")
        parts.setdefault(name, []).append((int(i), r["value"]))
    joined = {k: "".join(v for _, v in sorted(xs)) for k, xs in parts.items()}
    manifest = json.loads(joined[f"manifest@{joined['current']}"])
    arrays = {k.partition(":")[2]: np.load(io.BytesIO(base64.b64decode(v)), allow_pickle=False)
              for k, v in joined.items() if k.startswith("array:")}
    return manifest, arrays


def read_manifest(address: str, name: str = DEFAULT_COLLECTION) -> dict | None:
    """The current generation's manifest, or None when the collection has no index."""
    mc = client(address)
    gen = current_generation(mc, name)
    return None if gen is None else _read_meta(mc, f"{name}_g{gen}_meta")[0]


def load_index(address: str, name: str = DEFAULT_COLLECTION) -> Index:
    """Load the current generation of index ``name`` at ``address``: records, sentence vectors and BM25
    counts into the process; dense chunk search stays in Milvus."""
    mc = client(address)
    gen = current_generation(mc, name)
    if gen is None:
        raise BadIndexError(f"no index {name!r} at {address}; build it with: {index_command(address, name)}")
    base = f"{name}_g{gen}"
    try:
        manifest, arrays = _read_meta(mc, f"{base}_meta")
    except Exception as e:  # noqa: BLE001
        raise BadIndexError(f"index {name!r} at {address}: its metadata cannot be read ({e}); "
                            f"rebuild it with: {index_command(address, name)}") from None
    cmd = index_command(address, name, manifest)
    if manifest.get("format") != FORMAT_VERSION:
        raise BadIndexError(f"index {name!r} at {address} has format {manifest.get('format')!r}, this version reads "
                            f"{FORMAT_VERSION}; rebuild it with: {cmd}")
    counts = manifest["counts"]
    crow = _all(mc, f"{base}_chunks", ["row", "record"], below=counts["chunks"])
    srow = _all(mc, f"{base}_sentences", ["row", "record", "vec"], below=counts["sentences"])
    trow = [r for r in _all(mc, f"{base}_sources", ["key", "source", "part", "text", "pages"], key="key")
            if r["source"] in manifest["sources"]]
    chunks = [Chunk.from_json(r["record"]) for r in crow]
    token_text = [r["record"].get("tokens", "") for r in crow]
    sentences = [Sentence.from_json(r["record"]) for r in srow]
    stokens = [r["record"].get("tokens", "") for r in srow]
    svecs = np.asarray([r["vec"] for r in srow], np.float16) if srow else None
    texts: dict[str, list] = {}
    pages: dict[str, tuple[int, ...]] = {}
    for r in sorted(trow, key=lambda r: (r["source"], r["part"])):
        texts.setdefault(r["source"], []).append(r["text"])
        if r["part"] == 0 and r["pages"]:
            pages[r["source"]] = tuple(json.loads(r["pages"]))
    n, dim = len(chunks), manifest["model"]["dim"]
    if n != manifest["counts"]["chunks"] or len(sentences) != manifest["counts"]["sentences"]:
        raise BadIndexError(f"index {name!r} at {address}: {n} chunks and {len(sentences)} sentences stored, "
                            f"the manifest lists {manifest['counts']}; rebuild it with: {cmd}")
    bm = Bm25([TermCounts.count(t.split(" ") if t else [] for t in token_text)]) if n else None
    return Index(Path(f"{address}#{name}"), manifest, chunks, token_text, MilvusVectors(mc, f"{base}_chunks", n, dim),
                 bm, {s: "".join(xs) for s, xs in texts.items()}, sentences, svecs, stokens, pages,
                 arrays=arrays.get, rebuild_command=cmd)


# ---------------------------------------------------------------- writing

def _schemas(mc, dim: int) -> dict:
    from pymilvus import DataType

    def schema(pk: str, pk_type, fields: list[tuple], vec_dim: int):
        s = mc.create_schema(auto_id=False, enable_dynamic_field=False)
        if pk_type == DataType.VARCHAR:
            s.add_field(pk, pk_type, is_primary=True, max_length=1024)
        else:
            s.add_field(pk, pk_type, is_primary=True)
        for f in fields:
            s.add_field(*f[:2], **(f[2] if len(f) > 2 else {}))
        s.add_field("vec", DataType.FLOAT_VECTOR, dim=vec_dim)
        return s

    v = {"max_length": 65535}
    return {
        "chunks": schema("row", DataType.INT64, [("id", DataType.VARCHAR, {"max_length": 1024}),
                                                  ("source", DataType.VARCHAR, {"max_length": 4096}),
                                                  ("title", DataType.VARCHAR, v), ("column", DataType.VARCHAR, v),
                                                  ("start", DataType.INT64), ("end", DataType.INT64),
                                                  ("text", DataType.VARCHAR, v), ("record", DataType.JSON)], dim),
        "sentences": schema("row", DataType.INT64, [("source", DataType.VARCHAR, {"max_length": 4096}),
                                                     ("record", DataType.JSON)], dim),
        "sources": schema("key", DataType.VARCHAR, [("source", DataType.VARCHAR, {"max_length": 4096}),
                                                     ("part", DataType.INT64), ("sha256", DataType.VARCHAR, {"max_length": 64}),
                                                     ("text", DataType.VARCHAR, v), ("pages", DataType.VARCHAR, v)], 2),
        "meta": schema("key", DataType.VARCHAR, [("value", DataType.VARCHAR, v)], 2),
    }


def _create(mc, coll: str, schema) -> None:
    if mc.has_collection(coll):
        mc.drop_collection(coll)
    ip = mc.prepare_index_params()
    ip.add_index(field_name="vec", index_type="FLAT", metric_type="IP")
    mc.create_collection(coll, schema=schema, index_params=ip)


def _insert(mc, coll: str, rows: Sequence[dict]) -> None:
    for b in range(0, len(rows), BATCH):
        mc.insert(coll, list(rows[b:b + BATCH]))


def _array_rows(name: str, a: np.ndarray) -> list[dict]:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    s = base64.b64encode(buf.getvalue()).decode("ascii")
    return _split_rows(f"array:{name}", s)


def _split_rows(key: str, s: str) -> list[dict]:
    return [{"key": f"{key}/{i // META_PART}", "value": s[i:i + META_PART], "vec": [0.0, 0.0]}
            for i in range(0, max(1, len(s)), META_PART)]


def _generations(mc, name: str) -> list[int]:
    out = set()
    for c in mc.list_collections():
        m = _GEN.fullmatch(c)
        if m and m["name"] == name:
            out.add(int(m["gen"]))
    return sorted(out)


def _drop_generation(mc, name: str, gen: int) -> None:
    for kind in ("chunks", "sentences", "sources", "meta"):
        coll = f"{name}_g{gen}_{kind}"
        if mc.has_collection(coll):
            mc.drop_collection(coll)


def _previous(mc, name: str, gen: int | None, embedder, log) -> tuple[dict, dict, dict, dict, dict]:
    """(vectors by embed key, tokens by embed key, per-source records, manifest, arrays) of the current
    generation when it was built with this model; else empties (and its per-source records)."""
    if gen is None:
        return {}, {}, {}, {}, {}
    base = f"{name}_g{gen}"
    try:
        manifest, arrays = _read_meta(mc, f"{base}_meta")
        if (manifest["model"]["id"] != embedder.model_id or manifest["model"]["fingerprint"] != embedder.fingerprint):
            log(f"previous index used model {manifest['model']['id']}; re-embedding everything")
            return {}, {}, manifest.get("sources", {}), {}, {}
        crow = _all(mc, f"{base}_chunks", ["row", "record", "vec"], below=manifest["counts"]["chunks"])
        srow = _all(mc, f"{base}_sentences", ["row", "record", "vec"], below=manifest["counts"]["sentences"])
    except Exception as e:  # noqa: BLE001 - a damaged previous generation costs only its reuse
        log(f"previous index not reusable ({e}); building from scratch")
        return {}, {}, {}, {}, {}
    vecs, toks = {}, {}
    for r in crow:
        k = embed_key(Chunk.from_json(r["record"]))
        vecs[k], toks[k] = np.asarray(r["vec"], np.float32), r["record"].get("tokens", "")
    arts = article_info(r["record"] for r in crow)
    for r in srow:
        a = arts.get((r["record"]["source"], r["record"]["article"])) or {}
        title = " ".join(x for x in (a.get("title", ""), a.get("byline", "")) if x)
        k = sentence_key(title, Sentence.from_json(r["record"]))
        vecs[k], toks[k] = np.asarray(r["vec"], np.float32), r["record"].get("tokens", "")
    return vecs, toks, manifest.get("sources", {}), manifest, arrays


def _checkpoint_place(address: str, name: str) -> Path:
    """Where a build's embedding checkpoint goes: beside a Milvus Lite file, else in the cache."""
    uri = uri_of(address)
    if uri.startswith(("http://", "https://", "tcp://", "unix:")):
        from ..model import cache_dir

        return cache_dir() / "milvus-builds" / re.sub(r"[^A-Za-z0-9_.-]", "_", f"{uri}-{name}")
    return Path(f"{uri}.{name}")


def _chunk_rows(items, tokens: list[str], vecs: np.ndarray, chunk_row0: int, sentence_row0: int):
    n = len(items.chunks)
    chunks = [{"row": chunk_row0 + i, "id": c.id, "source": c.source, "title": c.title, "column": c.column,
               "start": c.start, "end": c.end, "text": c.text, "record": {**c.to_json(), "tokens": tk},
               "vec": v.tolist()}
              for i, (c, tk, v) in enumerate(zip(items.chunks, tokens, vecs[:n]))]
    sentences = [{"row": sentence_row0 + i, "source": s.source, "record": {**s.to_json(), "tokens": tk},
                  "vec": v.tolist()}
                 for i, (s, tk, v) in enumerate(zip(items.sentences, tokens[n:], vecs[n:]))]
    return chunks, sentences


def _source_rows(docs) -> list[dict]:
    return [{"key": f"{d.source}#{j}", "source": d.source, "part": j, "sha256": d.sha256,
             "text": d.text[i:i + TEXT_PART], "pages": json.dumps(list(d.pages)) if (d.pages and j == 0) else "",
             "vec": [0.0, 0.0]}
            for d in docs for j, i in enumerate(range(0, max(1, len(d.text)), TEXT_PART))]


def _write_manifest(mc, coll: str, manifest: dict) -> None:
    """The manifest under a new version key, then the one-row pointer to it (the commit point of an
    append: a single-row upsert), then the previous versions' rows go."""
    tag = f"{time.time_ns()}"
    _insert(mc, coll, _split_rows(f"manifest@{tag}", json.dumps(manifest, ensure_ascii=False)))
    mc.flush(coll)
    mc.upsert(coll, [{"key": "current/0", "value": tag, "vec": [0.0, 0.0]}])
    mc.flush(coll)
    old = [r["key"] for r in _all(mc, coll, ["key"], key="key")
           if r["key"].startswith("manifest@") and not r["key"].startswith(f"manifest@{tag}/")]
    if old:
        mc.delete(coll, ids=old)


def _append(mc, address: str, name: str, gen: int, manifest: dict, arrays: dict, docs, files, embedder, chunking,
            source_paths, progress, log, t: dict) -> BuildReport:
    """New bulletins inserted into the current generation (rows after the committed ones), committed by
    the manifest; rows a killed append left beyond the manifest's counts are never served and go first."""
    base = f"{name}_g{gen}"
    c = manifest["counts"]
    for kind, below in (("chunks", c["chunks"]), ("sentences", c["sentences"])):
        _loaded(mc, f"{base}_{kind}")
        mc.delete(f"{base}_{kind}", filter=f"row >= {below}")
    stray = [r["key"] for r in _all(mc, f"{base}_sources", ["key", "source"], key="key")
             if r["source"] not in manifest["sources"]]
    if stray:
        mc.delete(f"{base}_sources", ids=stray)
    t0 = time.perf_counter()
    items = plan_items(docs, chunking["size"], chunking["overlap"], chunking["sentences"])
    t["chunk"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    place = _checkpoint_place(address, name)
    vecs, embedded = embed_items(items, {}, embedder, place, progress, log)
    t["embed"] = time.perf_counter() - t0
    tokens = item_tokens(items, {})
    n = len(items.chunks)
    t0 = time.perf_counter()
    tops = np.asarray(manifest["calibration"].get("tops") or [], np.float32)
    cal = calibration(arrays["background"], vecs[:n], tops if len(tops) else None)
    chunk_rows, sentence_rows = _chunk_rows(items, tokens, vecs, c["chunks"], c["sentences"])
    _insert(mc, f"{base}_chunks", chunk_rows)
    _insert(mc, f"{base}_sentences", sentence_rows)
    log(f"wrote the chunks and sentences of the new bulletins; writing the sources and the manifest")
    _insert(mc, f"{base}_sources", _source_rows(docs))
    for kind in ("chunks", "sentences", "sources"):
        mc.flush(f"{base}_{kind}")
    sources = {**manifest["sources"], **items.per_source}
    new = {**manifest, "calibration": cal, "sources": sources, "source_paths": source_paths,
           "source_files": {**manifest["source_files"], **file_hashes(files, docs)},
           "counts": {"sources": c["sources"] + len(docs), "chunks": c["chunks"] + n,
                      "sentences": c["sentences"] + len(items.sentences)},
           "corpus_fingerprint": corpus_fingerprint(sources), "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    _write_manifest(mc, f"{base}_meta", new)
    _clear_checkpoint(place)
    t["write"] = time.perf_counter() - t0
    return BuildReport(address, new["counts"]["chunks"], new["counts"]["sentences"], embedded,
                       len(items.keys) - embedded, tuple(items.per_source), (), (), len(manifest["sources"]), t,
                       "append")


def _clear_checkpoint(place: Path) -> None:
    import shutil

    shutil.rmtree(place.parent / f".{place.name}.partial", ignore_errors=True)


def build_index(sources: Sequence[str | os.PathLike], address: str, embedder=None, *, name: str = DEFAULT_COLLECTION,
                chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
                progress: bool = True, log: Callable[[str], None] = print, with_sentences: bool = True) -> BuildReport:
    """Bring index ``name`` at ``address`` up to date with ``sources``.  Nothing changed: nothing is
    written.  Only new bulletins: inserted into the current generation (``mode="append"``).  Otherwise
    (a bulletin changed or removed, a new model or chunking): a new generation written with every vector
    already stored reused, then the alias moved to it."""
    from ..embed import get_embedder

    embedder = embedder or get_embedder()
    chunking = {"size": chunk_size, "overlap": chunk_overlap, "parser": PARSER_VERSION, "sentences": with_sentences}
    source_paths = [str(Path(s).resolve()) for s in sources]
    mc = client(address)
    t = {}
    t0 = time.perf_counter()
    gen = current_generation(mc, name)
    files = discover(sources)
    manifest, arrays = {}, {}
    if gen is not None:
        try:
            manifest, arrays = _read_meta(mc, f"{name}_g{gen}_meta")
        except Exception as e:  # noqa: BLE001 - unreadable: rebuilt below
            log(f"index {name!r} at {address}: metadata unreadable ({e}); rewriting it")
    same = (manifest.get("format") == FORMAT_VERSION and manifest.get("chunking") == chunking
            and manifest.get("model", {}).get("fingerprint") == embedder.fingerprint
            and manifest.get("model", {}).get("id") == embedder.model_id)
    recorded = manifest.get("source_files") or {}
    by_name = {display_path(f): f for f in files}
    if (same and recorded and {"background", "domain"} <= set(arrays)
            and all(n in by_name and sha256(by_name[n]) == h for n, h in recorded.items())):
        # every indexed file hashes as recorded: only new files are read (as a folder's append)
        new_files = [f for n, f in by_name.items() if n not in recorded]
        docs = [d for d in (load_documents(new_files) if new_files else []) if d.source not in manifest["sources"]]
        t["parse"] = time.perf_counter() - t0
        if not docs:
            c = manifest["counts"]
            return BuildReport(address, c["chunks"], c["sentences"], 0, c["chunks"] + c["sentences"], (), (), (),
                               len(manifest["sources"]), t, "unchanged")
        return _append(mc, address, name, gen, manifest, arrays, docs, new_files, embedder, chunking, source_paths,
                       progress, log, t)
    docs = load_documents(files)
    t["parse"] = time.perf_counter() - t0
    if not docs:
        raise BadIndexError(f"no readable documents in {', '.join(map(str, files)) or 'the given sources'}; "
                            "nothing to index")
    per_source = {d.source: d.sha256 for d in docs}
    indexed = {s: v["sha256"] for s, v in manifest.get("sources", {}).items()}
    if same and indexed == per_source:
        c = manifest["counts"]
        return BuildReport(address, c["chunks"], c["sentences"], 0, c["chunks"] + c["sentences"], (), (), (),
                           len(per_source), t, "unchanged")
    if same and all(per_source.get(s) == h for s, h in indexed.items()) and {"background", "domain"} <= set(arrays):
        return _append(mc, address, name, gen, manifest, arrays, [d for d in docs if d.source not in indexed], files,
                       embedder, chunking, source_paths, progress, log, t)
    return _new_generation(mc, address, name, gen, docs, files, embedder, chunking, source_paths, progress, log, t)


def _new_generation(mc, address: str, name: str, gen: int | None, docs, files, embedder, chunking, source_paths,
                    progress, log, t: dict) -> BuildReport:
    old_vecs, old_tokens, old_sources, old_manifest, old_arrays = _previous(mc, name, gen, embedder, log)
    t0 = time.perf_counter()
    items = plan_items(docs, chunking["size"], chunking["overlap"], chunking["sentences"])
    t["chunk"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    place = _checkpoint_place(address, name)
    vecs, embedded = embed_items(items, old_vecs, embedder, place, progress, log)
    t["embed"] = time.perf_counter() - t0
    tokens = item_tokens(items, old_tokens)
    n = len(items.chunks)
    t0 = time.perf_counter()
    background = embedder.encode_queries(background_questions()).astype(np.float32)
    cal = calibration(background, vecs[:n])
    questions, domain_sha = domain_questions()
    domain = old_arrays.get("domain")
    if domain is None or old_manifest.get("domain_questions") != domain_sha:
        domain = embed_domain(embedder, questions, log)
    t["calibrate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for g in _generations(mc, name):  # what a killed build left: never aliased, so never served
        if gen is None or g > gen:
            _drop_generation(mc, name, g)
    new = (gen or 0) + 1
    base = f"{name}_g{new}"
    schemas = _schemas(mc, embedder.dim)
    for kind, schema in schemas.items():
        _create(mc, f"{base}_{kind}", schema)
    chunk_rows, sentence_rows = _chunk_rows(items, tokens, vecs, 0, 0)
    _insert(mc, f"{base}_chunks", chunk_rows)
    _insert(mc, f"{base}_sentences", sentence_rows)
    log(f"wrote the chunks and sentences of generation {new}; writing the sources and the manifest")
    _insert(mc, f"{base}_sources", _source_rows(docs))
    manifest = {"format": FORMAT_VERSION, "store": "milvus", "generation": new, "calibration": cal,
                "domain_questions": domain_sha,
                "model": {"id": embedder.model_id, "fingerprint": embedder.fingerprint, "dim": embedder.dim},
                "chunking": chunking, "segments": [""], "sources": items.per_source, "source_paths": source_paths,
                "source_files": file_hashes(files, docs),
                "counts": {"sources": len(docs), "chunks": n, "sentences": len(items.sentences)},
                "corpus_fingerprint": corpus_fingerprint(items.per_source),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    _insert(mc, f"{base}_meta", _array_rows("background", background) + _array_rows("domain", domain))
    _write_manifest(mc, f"{base}_meta", manifest)
    for kind in schemas:
        mc.flush(f"{base}_{kind}")
    # the commit point: the alias moves to the new generation
    if name in mc.list_aliases().get("aliases", []):
        mc.alter_alias(f"{base}_meta", name)
    else:
        mc.create_alias(f"{base}_meta", name)
    for g in _generations(mc, name):
        if g < new - 1:
            _drop_generation(mc, name, g)
    _clear_checkpoint(place)
    t["write"] = time.perf_counter() - t0
    added = tuple(s for s in items.per_source if s not in old_sources)
    changed = tuple(s for s in items.per_source
                    if s in old_sources and old_sources[s]["sha256"] != items.per_source[s]["sha256"])
    removed = tuple(s for s in old_sources if s not in items.per_source)
    return BuildReport(address, n, len(items.sentences), embedded, len(items.keys) - embedded, added, changed, removed,
                       len(items.per_source) - len(added) - len(changed), t, "full")
