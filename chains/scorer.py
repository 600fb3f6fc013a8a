"""Evidence scorers: an embedding model adapted to match customers' questions to answer units.

MiniLM out of the box ranks the right sentence or table row first for about two questions in
three and mixes up "not in the documents" with "said differently". A scorer is MiniLM with a
small LoRA adapter trained (by :mod:`plait.chains.scorer_train`) on questions about *your*
documents, each naming the fact its answer contains: the unit holding the fact is pulled
towards the question, the other units of the retrieved articles are pushed away, and questions
the documents do not answer are pushed below a fixed similarity. Its folder holds the adapter
and ``scorer.json``: the "don't know" threshold measured on questions it was not trained on,
and how it was built.

Example:
    >>> scorer = load_scorer("my_scorer")  # doctest: +SKIP
    >>> rag("helpcentre", scorer=scorer).invoke("do u take amex").answer  # doctest: +SKIP
    'Accepted payment methods: We accept Visa, Mastercard and American Express. [1]'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from plait.chains.evidence import UnitVectors, candidates, unit_text
from plait.errors import ModelFileError
from plait.retrieval import Hit, stored_chunks
from plait.retrieval.embeddings import SentenceTransformerEmbeddings

MANIFEST = "scorer.json"
INDEX_CHUNKS = 5_000
"""Largest collection whose every unit a scorer also searches itself (its units are embedded once, on first use)."""
NEIGHBOURS = 8
"""Units the scorer finds on its own per question, added to those of the retrieved chunks."""


@dataclass(frozen=True)
class UnitScorer:
    """An adapted embedding model that ranks answer units, and its "don't know" threshold."""

    embeddings: Embeddings
    """Embeds questions and units; cosine similarity is the score."""
    min_similarity: float
    """Below this best-unit similarity the documents do not answer the question."""
    name: str = "scorer"
    """Shown in traces and benchmark reports."""
    info: dict[str, Any] = field(default_factory=dict, compare=False)
    """``scorer.json`` as written by the trainer: data, figures, how to rebuild."""
    vectors: UnitVectors = field(init=False, repr=False, compare=False)
    """Unit embeddings under this scorer, cached once for every RAG node that uses it."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "vectors", UnitVectors(self.embeddings))


def load_scorer(folder: str | Path) -> UnitScorer:
    """Load a scorer folder written by :func:`plait.chains.scorer_train.train_scorer`.

    Example:
        >>> load_scorer("/nowhere")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ModelFileError: No evidence scorer at /nowhere ...
    """
    folder = Path(folder).expanduser()
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise ModelFileError(f"No evidence scorer at {folder} ({MANIFEST} missing). Train one with "
                          "`python -m plait.chains.scorer_train --docs DOCS --data QUESTIONS.jsonl --out FOLDER`.")
    try:
        info = json.loads(manifest.read_text(encoding="utf-8"))
        threshold = float(info["min_similarity"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{manifest} is not a scorer manifest ({exc}); retrain the scorer to rewrite it.") from exc
    return UnitScorer(SentenceTransformerEmbeddings(adapter=folder), threshold, info.get("name", folder.name), info)


class UnitIndex:
    """Every answer unit of a collection under a scorer's embeddings, to find what chunk retrieval missed.

    Chunk retrieval (plain MiniLM) misses the right article for about one question in twenty; the
    adapted scorer, asked directly, often finds its unit. Built on first use and rebuilt when the
    collection's size changes; collections over :data:`INDEX_CHUNKS` chunks are not indexed.
    """

    def __init__(self, store: Any, vectors: UnitVectors, *, max_chunks: int = INDEX_CHUNKS) -> None:
        self.store, self.vectors, self.max_chunks = store, vectors, max_chunks
        self.size = -1
        self.units: list[tuple[str, Hit]] = []
        self.matrix = np.zeros((0, 0), dtype=np.float32)

    def nearest(self, query: str, n: int = NEIGHBOURS) -> list[Hit]:
        """The chunks holding the ``n`` units closest to ``query`` (best first; a chunk once)."""
        size = len(self.store.get(include=[])["ids"])
        if size != self.size:
            self.size = size
            self.units = candidates(stored_chunks(self.store)) if size <= self.max_chunks else []
            self.matrix = self.vectors([unit_text(u, h) for u, h in self.units]) if self.units else self.matrix
        if not self.units:
            return []
        scores = self.matrix @ self.vectors.query(query)
        return list({id(h): h for h in (self.units[i][1] for i in np.argsort(-scores)[:n])}.values())
