"""The Milvus backend: an index kept in Milvus (Milvus Lite from a local ``.db`` file, or a standalone /
cluster server at ``http://HOST:19530``) instead of a folder.

One index generation is four collections, ``{name}_g{N}_chunks`` (row, id, source, title, column,
offsets, text, dense vector, and the whole chunk record with its BM25 tokens), ``_sentences`` (each
sentence with its vector), ``_sources`` (each source's text, in parts, so citations verify in place)
and ``_meta`` (the manifest: model fingerprint, chunking, calibration, per-source hashes; and the
background questions' vectors).  The alias ``{name}`` names the current generation's ``_meta``
collection.

Updates in place (``_update``): new and changed bulletins' chunk and sentence rows are inserted with
keys after every row written so far, their texts under keys carrying the content hash (never over the
text a loaded version cites); the manifest (written under a new version key, then a one-row pointer
upserted: the commit point) records the new row ends and *retires* the changed and removed bulletins'
older rows, which every read and search then leaves out (``_live``), and the next update deletes.  So:
a process loading during an update reads the old version or the new one, never a mix; a process that
loaded the version before keeps answering from it consistently (its searches are pinned to its rows)
until the update after next deletes the rows it alone still uses (their vectors then read as zeros); a
killed update leaves rows past the committed ends, never served and deleted by the next update.
Vectors of an edited bulletin's unchanged text are reused.  A new model or chunking → a whole new
generation, every vector already stored under the same embedding input reused, and the alias moved
last; a build killed midway leaves the alias, and so the previous generation, answering.  The
generation before the current one is kept (a process that loaded it still searches it); older ones
are dropped.

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
from ..errors import BadIndexError, SourceError
from ..build_items import embed_key, prepare_items, reusable_tokens, sentence_key
from ..index import BuildReport, chunking_settings, corpus_fingerprint, file_hashes
from ..index_folder import FORMAT_VERSION, check_tokenizer, sha256
from ..loaded import Index, article_info, source_options
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
    src = source_options((manifest or {}).get("source_paths") or [])
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
                if Path(uri).exists() and not Path(uri).is_dir():
                    raise BadIndexError(f"index address milvus:{uri}: {uri} is a file, not a Milvus Lite database "
                                        "(Milvus Lite keeps a folder there); name another path, or move the file away")
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
            _clients[uri] = MilvusClient(uri, token=os.environ.get("QA_MILVUS_TOKEN", ""))
        return _clients[uri]


class MilvusVectors(VectorStore):
    """Dense inner-product search in one generation's chunk collection, pinned to the rows one manifest
    version holds (``where``).  The collection's primary keys (``rows``, ascending) are not the loaded
    index's row numbers once updates have replaced rows in place: position i of the index is key rows[i]."""

    def __init__(self, mc, collection: str, rows: np.ndarray, dim: int, where: str):
        self._mc, self._coll, self._dim, self._where = mc, collection, dim, where
        self._rows = np.asarray(rows, np.int64)
        self._n = len(self._rows)
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
        # rows an update wrote later, or retired, are never served to a process that loaded this version
        res = self._mc.search(self._coll, data=q.tolist(), anns_field="vec", limit=min(k, self._n),
                              filter=self._where, search_params={"metric_type": "IP"}, output_fields=["row"])
        for i, hits in enumerate(res):
            keys = np.asarray([int(h["entity"]["row"]) for h in hits], np.int64)
            pos = np.searchsorted(self._rows, keys)
            j = 0
            for h, key, p in zip(hits, keys, pos):
                if p < self._n and self._rows[p] == key:
                    ids[i, j], sims[i, j] = p, float(h["distance"])
                    j += 1
        return sims, ids

    def reconstruct(self, ids) -> np.ndarray:
        """The rows' vectors; a row deleted since this version was loaded (two updates later) is zeros."""
        keys = [int(self._rows[int(i)]) for i in ids]
        out = np.zeros((len(keys), self._dim), np.float32)
        got = {}
        for b in range(0, len(keys), BATCH):
            for r in self._mc.get(self._coll, ids=keys[b:b + BATCH], output_fields=["vec"]):
                got[int(r["row"])] = r["vec"]
        for i, key in enumerate(keys):
            if key in got:
                out[i] = got[key]
        return out

    def vectors(self) -> np.ndarray:
        rows = all_rows(self._mc, self._coll, ["row", "vec"], where=self._where)
        return (np.asarray([r["vec"] for r in rows], np.float32) if rows
                else np.zeros((0, self._dim), np.float32))


# ---------------------------------------------------------------- reading

def _loaded(mc, coll: str) -> str:
    """``coll``, loaded for search and query (a new process finds collections released)."""
    state = str(mc.get_load_state(coll).get("state", ""))
    if not state.endswith("Loaded"):
        mc.load_collection(coll)
    return coll


def all_rows(mc, coll: str, fields: list[str], key: str = "row", where: str | None = None) -> list[dict]:
    """Every row of ``coll`` (``fields``), sorted by ``key``; with ``where``, the rows it selects only."""
    _loaded(mc, coll)
    expr = where or ("row >= 0" if key == "row" else f'{key} != ""')
    it = mc.query_iterator(coll, batch_size=1000, filter=expr, output_fields=fields)
    out = []
    while True:
        batch = it.next()
        if not batch:
            break
        out.extend(dict(r) for r in batch)
    it.close()
    return sorted(out, key=lambda r: r[key])


def _ends(manifest: dict) -> dict[str, int]:
    """Row keys written so far, per kind (chunks, sentences): the next update's rows start there.  An
    index never updated in place has rows 0..count-1."""
    c = manifest["counts"]
    return dict(manifest.get("rows") or {"chunks": c["chunks"], "sentences": c["sentences"]})


def _live(manifest: dict, kind: str) -> str:
    """The filter selecting the ``kind`` rows (chunks or sentences) this manifest version holds: rows
    written before it was committed, minus those of the sources its update replaced or removed
    (``retired``: their rows below the update's first key, deleted by the next update)."""
    expr = f"row >= 0 and row < {_ends(manifest)[kind]}"
    retired = manifest.get("retired")
    if retired and retired.get("sources"):
        expr += (f" and not (source in {json.dumps(retired['sources'], ensure_ascii=False)}"
                 f" and row < {retired['below'][kind]})")
    return expr


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
    rows = all_rows(mc, coll, ["key", "value"], key="key")
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


def _source_texts(mc, coll: str, sources: dict, fields=("key", "source", "part", "text", "pages")) -> list[dict]:
    """The text rows of ``sources`` (source → {"sha256": …}) as indexed, by (source, part): rows of a
    source's other versions (replaced, or written by an update that did not commit) are left out."""
    seen, out = set(), []
    for r in sorted(all_rows(mc, coll, list(fields) + ["sha256"], key="key"), key=lambda r: (r["source"], r["part"])):
        rec = sources.get(r["source"])
        if rec and rec["sha256"] == r["sha256"] and (r["source"], r["part"]) not in seen:
            seen.add((r["source"], r["part"]))
            out.append(r)
    return out


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
    check_tokenizer(manifest, f"index {name!r} at {address}", f"rebuild it with: {cmd}")
    where = {kind: _live(manifest, kind) for kind in ("chunks", "sentences")}
    crow = all_rows(mc, f"{base}_chunks", ["row", "record"], where=where["chunks"])
    srow = all_rows(mc, f"{base}_sentences", ["row", "record", "vec"], where=where["sentences"])
    trow = _source_texts(mc, f"{base}_sources", manifest["sources"])
    chunks = [Chunk.from_json(r["record"]) for r in crow]
    token_text = [r["record"].get("tokens", "") for r in crow]
    sentences = [Sentence.from_json(r["record"]) for r in srow]
    stokens = [r["record"].get("tokens", "") for r in srow]
    svecs = np.asarray([r["vec"] for r in srow], np.float16) if srow else None
    texts: dict[str, list] = {}
    pages: dict[str, tuple[int, ...]] = {}
    for r in trow:
        texts.setdefault(r["source"], []).append(r["text"])
        if r["part"] == 0 and r["pages"]:
            pages[r["source"]] = tuple(json.loads(r["pages"]))
    n, dim = len(chunks), manifest["model"]["dim"]
    if n != manifest["counts"]["chunks"] or len(sentences) != manifest["counts"]["sentences"]:
        raise BadIndexError(f"index {name!r} at {address}: {n} chunks and {len(sentences)} sentences stored, "
                            f"the manifest lists {manifest['counts']}; rebuild it with: {cmd}")
    bm = Bm25([TermCounts.count(t.split(" ") if t else [] for t in token_text)]) if n else None
    store = MilvusVectors(mc, f"{base}_chunks", np.asarray([r["row"] for r in crow], np.int64), dim, where["chunks"])
    return Index(Path(f"{address}#{name}"), manifest, chunks, token_text, store,
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


def _upsert(mc, coll: str, rows: Sequence[dict]) -> None:
    for b in range(0, len(rows), BATCH):
        mc.upsert(coll, list(rows[b:b + BATCH]))


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
        crow = all_rows(mc, f"{base}_chunks", ["row", "record", "vec"], where=_live(manifest, "chunks"))
        srow = all_rows(mc, f"{base}_sentences", ["row", "record", "vec"], where=_live(manifest, "sentences"))
    except Exception as e:  # noqa: BLE001 - a damaged previous generation costs only its reuse
        log(f"previous index not reusable ({e}); building from scratch")
        return {}, {}, {}, {}, {}
    vecs, toks = _keyed(crow, srow)
    return vecs, toks, manifest.get("sources", {}), manifest, arrays


def _keyed(crow: list[dict], srow: list[dict]) -> tuple[dict, dict]:
    """(vector, BM25 words) of stored chunk and sentence rows, by embedding key (what they were embedded
    from: title + text), so that the same text is never embedded twice."""
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
    return vecs, toks


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
    """Each document's text in parts, keyed by source, content hash and part: a changed bulletin's new
    text never overwrites the text a loaded version cites (written with upsert: a rerun is idempotent)."""
    return [{"key": f"{d.source}#{d.sha256[:16]}#{j}", "source": d.source, "part": j, "sha256": d.sha256,
             "text": d.text[i:i + TEXT_PART], "pages": json.dumps(list(d.pages)) if (d.pages and j == 0) else "",
             "vec": [0.0, 0.0]}
            for d in docs for j, i in enumerate(range(0, max(1, len(d.text)), TEXT_PART))]


def _write_manifest(mc, coll: str, manifest: dict) -> None:
    """The manifest under a new version key, then the one-row pointer to it (the commit point of an
    update: a single-row upsert); versions older than the one before go (a process that read the old
    pointer a moment ago still finds its version)."""
    tag = f"{time.time_ns()}"
    _insert(mc, coll, _split_rows(f"manifest@{tag}", json.dumps(manifest, ensure_ascii=False)))
    mc.upsert(coll, [{"key": "current/0", "value": tag, "vec": [0.0, 0.0]}])
    mc.flush(coll)
    keys = [r["key"] for r in all_rows(mc, coll, ["key"], key="key", where='key like "manifest@%"')]
    tags = sorted({k[len("manifest@"):].partition("/")[0] for k in keys}, key=int)
    old = [k for k in keys if k[len("manifest@"):].partition("/")[0] in tags[:-2]]
    if old:
        mc.delete(coll, ids=old)


def _collect(mc, base: str, manifest: dict) -> None:
    """Delete what the current version no longer holds: rows past its ends (an update killed before its
    commit) and the rows and texts its own update retired (kept until now for processes that loaded
    the version before it)."""
    ends = _ends(manifest)
    retired = manifest.get("retired") or {}
    gone = retired.get("sources") or []
    for kind in ("chunks", "sentences"):
        expr = f"row >= {ends[kind]}"
        if gone:
            expr = f"({expr}) or (source in {json.dumps(gone, ensure_ascii=False)} and row < {retired['below'][kind]})"
        _loaded(mc, f"{base}_{kind}")
        mc.delete(f"{base}_{kind}", filter=expr)
    if gone:
        live = manifest["sources"]
        old = [r["key"] for r in all_rows(mc, f"{base}_sources", ["key", "source", "sha256"], key="key",
                                      where=f"source in {json.dumps(gone, ensure_ascii=False)}")
               if r["source"] not in live or live[r["source"]]["sha256"] != r["sha256"]]
        if old:
            mc.delete(f"{base}_sources", ids=old)


def _background_tops(mc, coll: str, background: np.ndarray, where: str) -> np.ndarray:
    """Each background question's best cosine over the rows ``where`` selects (exact: a FLAT index)."""
    res = mc.search(coll, data=np.asarray(background, np.float32).tolist(), anns_field="vec", limit=1, filter=where,
                    search_params={"metric_type": "IP"}, output_fields=["row"],
                    consistency_level="Strong")  # the rows just written, also on a server
    return np.asarray([hits[0]["distance"] if hits else -1.0 for hits in res], np.float32)


def _update(mc, address: str, name: str, gen: int, manifest: dict, arrays: dict, docs, removed: Sequence[str],
            source_files: dict, embedder, chunking, source_paths, progress, log, t: dict) -> BuildReport:
    """The current generation updated in place.  ``docs``: new and changed bulletins, whose rows are
    inserted after every row written so far; the rows of changed and ``removed`` bulletins are retired by
    the new manifest (the commit point: a reader sees the old version or the new one, never a mix) and
    deleted by the next update.  Vectors of a changed bulletin's unchanged text are reused."""
    base = f"{name}_g{gen}"
    indexed = manifest["sources"]
    changed = [d.source for d in docs if d.source in indexed]
    added = [d.source for d in docs if d.source not in indexed]
    retire = sorted(set(changed) | set(removed))
    t0 = time.perf_counter()
    _collect(mc, base, manifest)
    old_vecs, old_tokens = {}, {}
    if changed:  # the text of an edited bulletin that did not change keeps its vector
        sel = f" and source in {json.dumps(changed, ensure_ascii=False)}"
        old_vecs, old_tokens = _keyed(
            all_rows(mc, f"{base}_chunks", ["row", "record", "vec"], where=_live(manifest, "chunks") + sel),
            all_rows(mc, f"{base}_sentences", ["row", "record", "vec"], where=_live(manifest, "sentences") + sel))
    t["prepare"] = time.perf_counter() - t0
    place = _checkpoint_place(address, name)
    items, vecs, embedded, tokens = prepare_items(docs, chunking, old_vecs, old_tokens, embedder, place,
                                                  progress, log, t)
    n = len(items.chunks)
    t0 = time.perf_counter()
    ends = _ends(manifest)
    chunk_rows, sentence_rows = _chunk_rows(items, tokens, vecs, ends["chunks"], ends["sentences"])
    _insert(mc, f"{base}_chunks", chunk_rows)
    _insert(mc, f"{base}_sentences", sentence_rows)
    log("wrote the chunks and sentences of the new and changed bulletins; writing the sources and the manifest")
    _upsert(mc, f"{base}_sources", _source_rows(docs))
    for kind in ("chunks", "sentences", "sources"):
        mc.flush(f"{base}_{kind}")
    sources = {s: v for s, v in indexed.items() if s not in retire}
    sources.update(items.per_source)
    c = manifest["counts"]
    old_chunks = sum(v["chunks"] for s, v in indexed.items() if s in retire)
    old_sentences = 0
    if retire:  # how many sentence rows retire: counted, the manifest lists chunks per source only
        old_sentences = len(all_rows(mc, f"{base}_sentences", ["row"], where=_live(manifest, "sentences")
                                 + f" and source in {json.dumps(retire, ensure_ascii=False)}"))
    new = {**manifest, "sources": sources, "source_paths": source_paths, "source_files": source_files,
           "counts": {"sources": len(sources), "chunks": c["chunks"] - old_chunks + n,
                      "sentences": c["sentences"] - old_sentences + len(items.sentences)},
           "rows": {"chunks": ends["chunks"] + n, "sentences": ends["sentences"] + len(items.sentences)},
           "retired": {"sources": retire, "below": ends} if retire else None,
           "corpus_fingerprint": corpus_fingerprint(sources), "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if retire:  # a removed text can lower the background's best matches: measured again in Milvus
        tops = _background_tops(mc, f"{base}_chunks", arrays["background"], _live(new, "chunks"))
        new["calibration"] = calibration(arrays["background"], np.zeros((0, embedder.dim), np.float32), tops)
    else:  # new text can only raise them
        tops = np.asarray(manifest["calibration"].get("tops") or [], np.float32)
        new["calibration"] = calibration(arrays["background"], vecs[:n], tops if len(tops) else None)
    t["calibrate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    _write_manifest(mc, f"{base}_meta", new)
    _clear_checkpoint(place)
    t["write"] = time.perf_counter() - t0
    return BuildReport(address, new["counts"]["chunks"], new["counts"]["sentences"], embedded,
                       len(items.keys) - embedded, tuple(added), tuple(changed), tuple(removed),
                       len(sources) - len(added) - len(changed), t, "update" if retire else "append")


def _clear_checkpoint(place: Path) -> None:
    import shutil

    shutil.rmtree(place.parent / f".{place.name}.partial", ignore_errors=True)


def build_index(sources: Sequence[str | os.PathLike], address: str, embedder=None, *, name: str = DEFAULT_COLLECTION,
                chunk_size: int = DEFAULT_CHUNK_SIZE, chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
                progress: bool = True, log: Callable[[str], None] = print, with_sentences: bool = True) -> BuildReport:
    """Bring index ``name`` at ``address`` up to date with ``sources``.  Nothing changed: nothing is
    written.  Bulletins added, changed or removed: the current generation is updated in place (``mode``
    "append" when only added, else "update"; see ``_update``).  A new model or chunking, or metadata that
    cannot be read: a new generation written with every vector already stored reused, then the alias moved
    to it (``mode="full"``)."""
    from ..embed import get_embedder

    embedder = embedder or get_embedder()
    chunking = chunking_settings(chunk_size, chunk_overlap, with_sentences)
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
        return _update(mc, address, name, gen, manifest, arrays, docs, (),
                       {**recorded, **file_hashes(new_files, docs)}, embedder, chunking, source_paths, progress, log, t)
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
    if same and {"background", "domain"} <= set(arrays):
        _refuse_unreadable(files, docs, recorded, address, name)
        removed = sorted(s for s in indexed if s not in per_source)
        return _update(mc, address, name, gen, manifest, arrays, [d for d in docs if indexed.get(d.source) != d.sha256],
                       removed, file_hashes(files, docs), embedder, chunking, source_paths, progress, log, t)
    return _new_generation(mc, address, name, gen, docs, files, embedder, chunking, source_paths, progress, log, t)


def _refuse_unreadable(files, docs, recorded: dict, address: str, name: str) -> None:
    """An indexed file that is still there but gave no document now (damaged, unreadable): an update would
    remove its bulletins from the index, so it stops first, with nothing changed."""
    read = {d.source.partition("#")[0] for d in docs}
    bad = [display_path(f) for f in files if display_path(f) in recorded and display_path(f) not in read]
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise SourceError(f"index {name!r} at {address}: {shown} was indexed but cannot be read now (see the warning "
                          "above); fix it, or move it out of the sources to remove its bulletins; nothing was changed")


def _new_generation(mc, address: str, name: str, gen: int | None, docs, files, embedder, chunking, source_paths,
                    progress, log, t: dict) -> BuildReport:
    old_vecs, old_tokens, old_sources, old_manifest, old_arrays = _previous(mc, name, gen, embedder, log)
    old_tokens = reusable_tokens(old_manifest.get("chunking"), chunking, old_tokens)
    place = _checkpoint_place(address, name)
    items, vecs, embedded, tokens = prepare_items(docs, chunking, old_vecs, old_tokens, embedder, place,
                                                  progress, log, t)
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
