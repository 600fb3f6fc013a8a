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

from importlib import resources
from pathlib import Path
from typing import Any

from plait.config import Settings
from plait.errors import PlaitError
from plait.retrieval import ingest, vector_store
from plait.retrieval.ingest import UNIT_LINES

COLLECTION = "helpcentre"
"""The collection ``make demo``, ``plait chat`` and the server's assistant answer from."""
ARTICLES = "data/helpcentre"
"""The example articles, relative to the ``plait.agents`` package."""


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
