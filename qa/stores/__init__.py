"""Vector stores behind one small interface (``base.VectorStore``), one module per backend:
``faiss_store`` (index folders, the default) and ``milvus_store`` (Milvus Lite files or servers).
Which one an index address names is decided in ``qa.address``."""

from .base import VectorStore

__all__ = ["VectorStore"]
