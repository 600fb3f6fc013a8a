"""Chroma vector stores with plait's embeddings: embedded (``PersistentClient``) or client/server.

Chroma is always given an explicit embedding function, so it never falls back to its own
default (which would download a model).

Example:
    >>> from plait.retrieval import vector_store
    >>> store = vector_store("helpcentre")                       # .plait/chroma, packaged MiniLM
    >>> store = vector_store("helpcentre", url="http://127.0.0.1:8000")   # a `chroma run` server
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from langchain_core.embeddings import Embeddings

from plait.config import Settings, load_settings
from plait.retrieval.embeddings import embeddings_for
from plait.retrieval.errors import StoreError

DEFAULT_COLLECTION = "plait"
# Cosine distance on unit vectors: relevance = 1 - distance, in [0, 1] for related text.
COLLECTION_CONFIG = {"hnsw": {"space": "cosine"}}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]")


@lru_cache(maxsize=8)
def _persistent_client(path: str) -> Any:
    import chromadb

    Path(path).mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=path, settings=chromadb.Settings(anonymized_telemetry=False))


def _http_client(url: str) -> Any:
    import chromadb

    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StoreError(f"chroma_url {url!r} must look like http://HOST:PORT.")
    try:
        client = chromadb.HttpClient(host=parts.hostname, port=parts.port or (443 if parts.scheme == "https" else 8000),
                                     ssl=parts.scheme == "https",
                                     settings=chromadb.Settings(anonymized_telemetry=False))
        client.heartbeat()
    except Exception as exc:  # chromadb raises several types for an unreachable server
        raise StoreError(f"No Chroma server answers at {url} ({type(exc).__name__}). Start one with "
                         "`chroma run --path DIR --host 127.0.0.1 --port PORT`, or remove chroma_url to use the "
                         "embedded store.") from exc
    return client


def chroma_client(*, path: str | Path | None = None, url: str | None = None, settings: Settings | None = None) -> Any:
    """Return a Chroma client: ``url`` (server) > ``path`` > ``[retrieval]`` config > ``<home>/chroma``."""
    settings = settings or load_settings()
    url = url or (None if path else settings.retrieval.get("chroma_url"))
    if url:
        return _http_client(url)
    folder = path or settings.retrieval.get("chroma_path") or settings.home / "chroma"
    return _persistent_client(str(Path(folder).resolve()))


def vector_store(collection: str | None = None, *, embeddings: Embeddings | None = None,
                 path: str | Path | None = None, url: str | None = None, settings: Settings | None = None) -> Any:
    """Open (or create) a Chroma collection as a LangChain vector store."""
    from langchain_chroma import Chroma

    settings = settings or load_settings()
    name = collection or settings.retrieval.get("collection") or DEFAULT_COLLECTION
    if not _NAME.fullmatch(name):
        raise StoreError(f"Collection name {name!r} is not valid for Chroma: use 3-512 letters, digits, '.', '_' "
                         "or '-', starting and ending with a letter or digit (e.g. 'helpcentre').")
    return Chroma(collection_name=name, client=chroma_client(path=path, url=url, settings=settings),
                  embedding_function=embeddings or embeddings_for(settings.retrieval.get("embeddings")),
                  collection_configuration=COLLECTION_CONFIG)
