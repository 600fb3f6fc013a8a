"""Retrieval: similarity or MMR over a Chroma collection, with metadata filters and a relevance threshold.

The search is langchain-chroma's (``similarity_search_with_score``, and its
``maximal_marginal_relevance`` for MMR) on a store from :func:`plait.retrieval.vector_store`,
whose collections use cosine distance: a hit's relevance is 1 - distance, its cosine similarity.

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
from langchain_chroma.vectorstores import maximal_marginal_relevance
from langchain_core.documents import Document


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


def search(query: str, *, store: Any, k: int = 4, mmr: bool = False, fetch_k: int = 20, diversity: float = 0.3,
           filter: dict[str, Any] | None = None, threshold: float | None = None) -> list[Hit]:
    """Return up to ``k`` chunks for ``query``, best first; below ``threshold`` nothing is returned.

    ``filter`` is a Chroma ``where`` clause on metadata, e.g. ``{"title": "Refund timing"}``.
    With ``mmr``, the ``fetch_k`` closest chunks over the threshold are re-ranked by maximal
    marginal relevance (``diversity`` 0 = by relevance only, 1 = as unlike each other as possible).

    Example:
        >>> search("refund time", store=store, k=2, mmr=True, threshold=0.35)  # doctest: +SKIP
        [Hit(text='Refunds reach your account ...', score=0.71, ...), Hit(...)]
    """
    if not query.strip():
        return []
    # Distances, not similarity_search_with_relevance_scores(): that one warns (with every document
    # in the message) whenever a cosine similarity falls below 0, as unrelated text may, and its
    # score_threshold logs a warning each time nothing passes, which RAG's "not in the documents" meets.
    found = [(doc, 1.0 - distance) for doc, distance in
             store.similarity_search_with_score(query, k=max(k, fetch_k) if mmr else k, filter=filter or None)]
    found = [(doc, score) for doc, score in found if threshold is None or score >= threshold]
    if mmr and found:
        found = [found[i] for i in _mmr_order(query, [doc for doc, _ in found], store, k, diversity)]
    return [_hit(doc, score) for doc, score in found[:k]]


def article_chunks(hits: list[Hit], *, store: Any, articles: int = 2, limit: int = 40) -> list[Hit]:
    """Every chunk of the ``articles`` best-ranked sources among ``hits`` (at most ``limit``), in reading order.

    Retrieval ranks chunks, but the answer may sit in a chunk of the right article that ranked
    below ``k``; these siblings (scored 0.0: not retrieved) let evidence selection see all of it.

    Example:
        >>> [h.chunk_index for h in article_chunks(search("refund time", store=store), store=store)]  # doctest: +SKIP
        [0, 1, 0]
    """
    out: list[Hit] = []
    for source in list(dict.fromkeys(h.source for h in hits if h.source))[:articles]:
        out += stored_chunks(store, where={"source": source}, limit=limit)
    return out[:limit]


def stored_chunks(store: Any, *, where: dict[str, Any] | None = None, limit: int | None = None) -> list[Hit]:
    """The chunks of ``store`` (matching ``where``), by source and in reading order, scored 0.0 (not retrieved).

    Example:
        >>> len(stored_chunks(store, where={"source": "/docs/refunds.md"}))  # doctest: +SKIP
        2
    """
    got = store.get(where=where or None, include=["documents", "metadatas"], limit=limit)
    pairs = sorted(zip(got["documents"], got["metadatas"]),
                   key=lambda p: (str((p[1] or {}).get("source", "")), int((p[1] or {}).get("chunk_index", 0))))
    return [_hit(Document(page_content=text, metadata=meta or {}), 0.0) for text, meta in pairs]


def _mmr_order(query: str, docs: list[Document], store: Any, k: int, diversity: float) -> list[int]:
    """Indices of ``docs`` in maximal-marginal-relevance order: relevant, and unlike those chosen before."""
    stored = store.get(ids=[doc.id for doc in docs], include=["embeddings"])
    vectors = dict(zip(stored["ids"], stored["embeddings"]))
    return maximal_marginal_relevance(np.asarray(store.embeddings.embed_query(query), dtype=np.float32),
                                      [vectors[doc.id] for doc in docs], lambda_mult=1 - diversity, k=k)


def _hit(doc: Document, score: float) -> Hit:
    meta = doc.metadata
    return Hit(text=doc.page_content, score=round(score, 4), source=meta.get("source", ""),
               title=meta.get("title", ""), section=meta.get("section", ""),
               chunk_index=int(meta.get("chunk_index", 0)), metadata=dict(meta))
