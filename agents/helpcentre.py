"""The example help centre shipped with plait, and the collection the support assistant answers from.

The 32 articles of a made-up shop are package data of ``plait.agents`` (``data/helpcentre``), so a
wheel installed outside a checkout has them too. :func:`help_centre_store` opens the collection
and, only when it is empty, fills it from them: a collection you filled yourself
(``plait ingest YOUR_ARTICLES --collection helpcentre``) is used as it is.

Example:
    >>> from plait.agents import help_centre_store
    >>> from plait.agents.support import support_assistant
    >>> assistant = support_assistant(store=help_centre_store())  # doctest: +SKIP
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from plait.chains.scorer import UnitScorer, load_scorer
from plait.config import Settings
from plait.errors import PlaitError
from plait.retrieval import ingest, vector_store
from plait.retrieval.ingest import UNIT_LINES

COLLECTION = "helpcentre"
"""The collection ``make demo``, ``plait chat`` and the server's assistant answer from."""
ARTICLES = "data/helpcentre"
"""The example articles, relative to the ``plait.agents`` package."""
SCORER = "data/helpcentre-scorer"
"""The evidence scorer trained for them (``make helpcentre-scorer``), relative to ``plait.agents``."""


def example_help_centre() -> Path:
    """The folder of the packaged example help-centre articles (Markdown, one topic per file).

    Example:
        >>> sorted(p.name for p in example_help_centre().glob("returns-*.md"))[0]
        'returns-exchanges.md'
    """
    folder = Path(str(resources.files("plait.agents").joinpath(ARTICLES)))
    if not folder.is_dir():  # e.g. plait imported from a zip archive, where package data is no folder
        raise PlaitError(f"The example help centre is not a folder at {folder}: install plait as a normal "
                         "package (pip install), or ingest your own articles with "
                         f"`plait ingest YOUR_ARTICLES --collection {COLLECTION}`.")
    return folder


def help_centre_store(collection: str = COLLECTION, *, settings: Settings | None = None) -> Any:
    """Open ``collection`` in the configured vector store, filling it from the example help centre when empty,
    and re-chunking it when an older plait wrote it without answer units (``ingest`` replaces only those chunks).

    Example:
        >>> store = help_centre_store()  # .plait/chroma; ingests the 32 articles once  # doctest: +SKIP
    """
    store = vector_store(collection, settings=settings)
    first = store.get(limit=1, include=["metadatas"])
    outdated = bool(first["ids"]) and (first["metadatas"][0] or {}).get("units") != UNIT_LINES and \
        str((first["metadatas"][0] or {}).get("source", "")).startswith(str(example_help_centre()))
    if not first["ids"] or outdated:
        ingest([example_help_centre()], store=store)
    return store


def help_centre_scorer(store: Any = None) -> UnitScorer | None:
    """The evidence scorer adapted to the example help centre, for RAG over ``store``.

    ``None`` when ``store`` holds other documents (the scorer knows only these articles; train one
    for yours with :mod:`plait.chains.scorer_train`). Without ``store`` the scorer is returned as is.

    Example:
        >>> rag(store=store, scorer=help_centre_scorer(store))  # doctest: +SKIP
    """
    if store is not None:
        first = store.get(limit=1, include=["metadatas"])
        source = Path(str(((first["metadatas"] or [{}])[0] or {}).get("source", "")))
        # By file and folder name, not full path: a collection filled from another checkout is the same help centre.
        if source.parent.name != Path(ARTICLES).name or not (example_help_centre() / source.name).is_file():
            return None
    return _packaged_scorer()


@lru_cache(maxsize=1)
def _packaged_scorer() -> UnitScorer:
    # One per process: its unit embeddings are cached in it, for every assistant and RAG node built.
    return load_scorer(Path(str(resources.files("plait.agents").joinpath(SCORER))))
