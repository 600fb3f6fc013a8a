"""The SQLite database of ``plait serve``'s stored state: uploaded files, fine-tuning jobs and their events.

One file, ``<data_dir>/serve.db``, so a restarted server finds its files and jobs again.
Every call opens its own short connection: routes run in worker threads and the fine-tuning
worker in another, and SQLite (in WAL mode) serialises their writes.

Example:
    >>> with database(tmp_path) as db:  # doctest: +SKIP
    ...     db.execute("SELECT count(*) FROM files").fetchone()[0]
    0
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DB_FILE = "serve.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, filename TEXT NOT NULL, purpose TEXT NOT NULL,
    bytes INTEGER NOT NULL, created_at INTEGER NOT NULL, path TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, model TEXT NOT NULL, status TEXT NOT NULL,
    training_file TEXT NOT NULL, validation_file TEXT, adapter TEXT NOT NULL, hyperparameters TEXT NOT NULL,
    seed INTEGER NOT NULL, suffix TEXT, created_at INTEGER NOT NULL, finished_at INTEGER,
    fine_tuned_model TEXT, trained_tokens INTEGER, error TEXT, result_files TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, created_at INTEGER NOT NULL, level TEXT NOT NULL,
    message TEXT NOT NULL, type TEXT NOT NULL, data TEXT);
CREATE INDEX IF NOT EXISTS events_by_job ON events (job_id, seq);
"""


def new_id(prefix: str) -> str:
    """A fresh id in OpenAI's style.

    Example:
        >>> new_id("file").startswith("file-")
        True
    """
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


@contextmanager
def database(data_dir: Path) -> Iterator[sqlite3.Connection]:
    """Open ``<data_dir>/serve.db`` (created with its tables on first use); commit when the block ends."""
    data_dir.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(data_dir / DB_FILE, timeout=30)
    connection.row_factory = sqlite3.Row
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(_SCHEMA)
        with connection:  # one transaction: committed on success, rolled back on error
            yield connection
    finally:
        connection.close()
