"""Errors of plait.retrieval; each says how to fix the problem."""

from plait.errors import PlaitError


class StoreError(PlaitError):
    """The vector store cannot be opened or reached."""


class IngestError(PlaitError):
    """A file could not be read or split (reported per file; ingestion goes on)."""
