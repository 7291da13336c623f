"""Index addresses: the factory that picks the store an ``--index`` / ``QA_INDEX`` value names.

A folder (the default, ``indexes/default``) is a FAISS index folder (``qa.index``, ``qa.loaded``);
``milvus:PATH.db`` (Milvus Lite) or ``milvus:http://HOST:19530`` (standalone or cluster) is an index
in Milvus under a collection name (``--collection``, default ``bulletins``; ``qa.stores.milvus_store``).
Everything above this module (answers, the CLI, the app) gets the same ``Index`` record either way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from . import index as folder
from .loaded import Index, stale_sources

DEFAULT_COLLECTION = "bulletins"

__all__ = ["DEFAULT_COLLECTION", "build_index", "index_command", "is_milvus", "load_index", "own_sources",
           "stale_sources"]


def is_milvus(address) -> bool:
    return isinstance(address, str) and address.startswith("milvus:")


def _milvus():
    from .stores import milvus_store  # pymilvus is imported only for Milvus addresses

    return milvus_store


def load_index(address: str | os.PathLike = folder.DEFAULT_INDEX, *, collection: str = DEFAULT_COLLECTION,
               verify: bool = True) -> Index:
    if is_milvus(address):
        return _milvus().load_index(address, collection)
    return folder.load_index(address, verify=verify)


def build_index(sources: Sequence[str | os.PathLike], address: str | os.PathLike = folder.DEFAULT_INDEX,
                embedder=None, *, collection: str = DEFAULT_COLLECTION, **options) -> folder.BuildReport:
    if is_milvus(address):
        return _milvus().build_index(sources, address, embedder, name=collection, **options)
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
