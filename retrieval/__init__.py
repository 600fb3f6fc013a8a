"""plait.retrieval: packaged embeddings, Chroma vector stores, ingestion and search.

Example:
    >>> from plait.retrieval import ingest, search, vector_store
    >>> store = vector_store("helpcentre")
    >>> ingest(["docs/helpcentre"], store=store).summary()  # your folder of articles  # doctest: +SKIP
    >>> search("refund time", store=store, k=3, threshold=0.3)  # doctest: +SKIP
"""

from plait.retrieval.embeddings import SentenceTransformerEmbeddings, embeddings_for, local_embeddings
from plait.retrieval.ingest import IngestReport, ingest
from plait.retrieval.search import Hit, article_chunks, search, stored_chunks
from plait.retrieval.store import chroma_client, vector_store

__all__ = ["Hit", "IngestReport", "SentenceTransformerEmbeddings", "article_chunks", "chroma_client", "embeddings_for", "ingest",
           "local_embeddings", "search", "stored_chunks", "vector_store"]
