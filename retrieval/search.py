"""Retrieval: similarity or MMR over a Chroma collection, with metadata filters and a relevance threshold.

Example:
    >>> from plait.retrieval import search, vector_store
    >>> hits = search("how long do refunds take", store=vector_store("helpcentre"), k=3)  # doctest: +SKIP
    >>> hits[0].title, round(hits[0].score, 2)  # doctest: +SKIP
    ('Refund timing', 0.71)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk and its relevance (cosine similarity, higher is closer)."""

    text: str
    score: float
    source: str
    title: str
    section: str
    chunk_index: int
    metadata: dict[str, Any]


def _mmr(query: np.ndarray, vectors: np.ndarray, k: int, diversity: float) -> list[int]:
    """Maximal marginal relevance: relevant to the query, unlike what is already chosen."""
    relevance = vectors @ query
    chosen: list[int] = []
    while len(chosen) < min(k, len(vectors)):
        redundancy = (vectors @ vectors[chosen].T).max(axis=1) if chosen else np.zeros(len(vectors))
        scores = (1 - diversity) * relevance - diversity * redundancy
        scores[chosen] = -np.inf
        chosen.append(int(np.argmax(scores)))
    return chosen


def search(query: str, *, store: Any, k: int = 4, mmr: bool = False, fetch_k: int = 20, diversity: float = 0.3,
           filter: dict[str, Any] | None = None, threshold: float | None = None) -> list[Hit]:
    """Return up to ``k`` chunks for ``query``, best first; below ``threshold`` nothing is returned.

    ``filter`` is a Chroma ``where`` clause on metadata, e.g. ``{"title": "Refund timing"}``.
    """
    if not query.strip():
        return []
    embedding = np.asarray(store.embeddings.embed_query(query), dtype=np.float32)
    found = store._collection.query(query_embeddings=[embedding.tolist()], n_results=max(k, fetch_k if mmr else k),
                                    where=filter or None, include=["documents", "metadatas", "distances", "embeddings"])
    if not found["ids"] or not found["ids"][0]:
        return []
    scores = [1.0 - d for d in found["distances"][0]]  # cosine space: distance = 1 - similarity
    keep = [i for i, s in enumerate(scores) if threshold is None or s >= threshold]
    if mmr and keep:
        vectors = np.asarray(found["embeddings"][0], dtype=np.float32)[keep]
        keep = [keep[i] for i in _mmr(embedding, vectors, k, diversity)]
    hits = []
    for i in keep[:k]:
        meta = found["metadatas"][0][i] or {}
        hits.append(Hit(text=found["documents"][0][i], score=round(scores[i], 4), source=meta.get("source", ""),
                        title=meta.get("title", ""), section=meta.get("section", ""),
                        chunk_index=int(meta.get("chunk_index", 0)), metadata=dict(meta)))
    return hits
