"""The vector store interface: what retrieval, building and the bench need from a dense index.

One class per backend implements it (``qa.stores.faiss_store.FaissStore`` for index folders,
``qa.stores.milvus_store.MilvusVectors`` for Milvus collections).  Rows are numbered 0..ntotal-1 in
the loaded index's chunk order; vectors are L2-normalised, so inner product is cosine.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class VectorStore(ABC):
    """Inner-product search over row-numbered float32 vectors."""

    @property
    @abstractmethod
    def ntotal(self) -> int:
        """How many vectors the store holds."""

    @property
    @abstractmethod
    def dim(self) -> int:
        """Their dimension."""

    @abstractmethod
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, row ids), each (len(queries), k), best first; missing places have id -1."""

    @abstractmethod
    def reconstruct(self, ids) -> np.ndarray:
        """The stored vectors of rows ``ids`` (float32, len(ids) × dim)."""

    def vectors(self) -> np.ndarray:
        """Every stored vector, in row order."""
        return self.reconstruct(np.arange(self.ntotal)) if self.ntotal else np.zeros((0, self.dim), np.float32)
