"""Few-shot example selection by embedding similarity from a labelled pool."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from plait.retrieval.embeddings import local_embeddings


def _matrix(embeddings: Embeddings, texts: list[str]) -> np.ndarray:
    encode = getattr(embeddings, "encode", None)
    vectors = encode(texts) if encode else np.asarray(embeddings.embed_documents(texts), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class SimilarExamples:
    """Choose, per input, the ``k`` pool examples closest to it; the closest comes last.

    Closest-last matters for small models, which lean on the most recent example.

    Example:
        >>> pool = [("card never came", "card_arrival"), ("refund please", "refund")]
        >>> SimilarExamples(pool, k=1).select("my card has not arrived")
        [('card never came', 'card_arrival')]
    """

    def __init__(self, pool: Sequence[tuple[str, str]], *, k: int, embeddings: Embeddings | None = None) -> None:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        if not pool:
            raise ValueError("SimilarExamples needs a non-empty pool of (text, label) examples.")
        self.pool = list(pool)
        self.k = min(k, len(self.pool))
        self.embeddings = embeddings or local_embeddings()
        self._vectors: np.ndarray | None = None
        self._lock = threading.Lock()

    def _pool_vectors(self) -> np.ndarray:
        with self._lock:  # embed the pool once, on first use
            if self._vectors is None:
                self._vectors = _matrix(self.embeddings, [text for text, _ in self.pool])
            return self._vectors

    def select_many(self, texts: Sequence[str]) -> list[list[tuple[str, str]]]:
        """Select examples for several inputs with one embedding pass."""
        scores = _matrix(self.embeddings, list(texts)) @ self._pool_vectors().T
        top = np.argsort(-scores, axis=1)[:, : self.k]
        return [[self.pool[i] for i in reversed(row)] for row in top]

    def select(self, text: str) -> list[tuple[str, str]]:
        """Select examples for one input."""
        return self.select_many([text])[0]
