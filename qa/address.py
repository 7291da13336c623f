"""Index addresses: the factory that picks the store an ``--index`` / ``QA_INDEX`` value names.

A folder (the default, ``indexes/default``) is a FAISS index folder (``qa.index``, read by ``qa.index_folder``);
``milvus:PATH.db`` (Milvus Lite) or ``milvus:http://HOST:19530`` (standalone or cluster) is an index
in Milvus under a collection name (``--collection``, default ``bulletins``; ``qa.stores.milvus_store``).
Everything above this module (answers, the CLI, the app) gets the same ``Index`` record either way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from . import index as folder
from .errors import BadIndexError
from .index_folder import stale_sources
from .loaded import Index

DEFAULT_COLLECTION = "bulletins"

__all__ = ["DEFAULT_COLLECTION", "build_index", "index_command", "is_milvus", "load_index", "own_sources",
           "stale_sources"]


def is_milvus(address) -> bool:
    return isinstance(address, str) and address.startswith("milvus:")


def _guard(address, collection: str, call):
    """``call()``, with Milvus client errors (server unreachable, a file held by another process)
    reported as ``BadIndexError`` rather than tracebacks."""
    from pymilvus.exceptions import MilvusException

    try:
        return call()
    except MilvusException as e:
        hint = ("; a Milvus Lite file serves one process at a time: stop the other one, or serve the index from a "
                "Milvus server (milvus:http://HOST:19530)" if "Open local milvus failed" in str(e) else "")
        raise BadIndexError(f"index {collection!r} at {address}: Milvus said: {e.message if hasattr(e, 'message') else e}"
                            f"{hint}") from None


def _milvus():
    from .stores import milvus_store  # pymilvus is imported only for Milvus addresses

    return milvus_store


def load_index(address: str | os.PathLike = folder.DEFAULT_INDEX, *, collection: str = DEFAULT_COLLECTION,
               verify: bool = True) -> Index:
    if is_milvus(address):
        return _guard(address, collection, lambda: _milvus().load_index(address, collection))
    return folder.load_index(address, verify=verify)


def build_index(sources: Sequence[str | os.PathLike], address: str | os.PathLike = folder.DEFAULT_INDEX,
                embedder=None, *, collection: str = DEFAULT_COLLECTION, **options) -> folder.BuildReport:
    if is_milvus(address):
        return _guard(address, collection,
                      lambda: _milvus().build_index(sources, address, embedder, name=collection, **options))
    return folder.build_index(sources, address, embedder, **options)


def own_sources(address: str | os.PathLike, *, collection: str = DEFAULT_COLLECTION) -> list[str]:
    """What to rebuild or update the index from when no source is named (see ``qa.index.own_sources``)."""
    if is_milvus(address):
        try:
            m = _milvus().read_manifest(address, collection) or {}
        except Exception:  # noqa: BLE001 - no index there yet
            return []
        return [p for p in m.get("source_paths") or [] if Path(p).exists()]
    return folder.own_sources(address)


def index_command(address: str | os.PathLike, *, collection: str = DEFAULT_COLLECTION) -> str:
    if is_milvus(address):
        try:
            m = _milvus().read_manifest(address, collection)
        except Exception:  # noqa: BLE001
            m = None
        return _milvus().index_command(address, collection, m)
    return folder.index_command(address)


def serve_index(address: str, sources: Sequence[str] | None, embedder, *, collection: str = DEFAULT_COLLECTION,
                log=print) -> Index:
    """The Milvus index an app process serves: built from ``sources`` (default seeds/) when missing,
    updated when they changed, then loaded (the process keeps no index files)."""
    from .sources import discover

    try:
        idx = load_index(address, collection=collection)
        known = {s.partition("#")[0] for s in idx.manifest.get("sources", {})}
        new = {str(x) for x in discover(sources)} - known if sources else set()
        build_from = list(sources or own_sources(address, collection=collection))
        if not (build_from and (new or stale_sources(idx) or idx.model_id != embedder.model_id)):
            return idx
    except BadIndexError as e:
        log(f"index problem: {e}; building it")
        build_from = list(sources or ["seeds"])
    log(f"building the index {address} ({collection}) from {', '.join(map(str, build_from))} …")
    log(build_index(build_from, address, embedder, collection=collection, log=log).summary())
    return load_index(address, collection=collection)
