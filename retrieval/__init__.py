"""plait.retrieval: packaged embeddings and Chroma vector stores (ingest, search)."""
