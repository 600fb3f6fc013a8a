"""Evaluation runs in SQLite: what ran (target, prompts, models, dataset hash) and every item's result.

Items are written as they finish, so an interrupted run keeps its work and resumes from there.

Example:
    >>> store = RunStore(".plait/evals.db")  # doctest: +SKIP
    >>> [run["id"] for run in store.list()]  # doctest: +SKIP
    [2, 1]
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from plait.errors import PlaitError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    name TEXT UNIQUE,
    created TEXT NOT NULL,
    status TEXT NOT NULL,
    target TEXT NOT NULL,
    dataset TEXT NOT NULL,
    dataset_hash TEXT NOT NULL,
    n INTEGER NOT NULL,
    config TEXT NOT NULL,
    prompts TEXT NOT NULL DEFAULT '[]',
    models TEXT NOT NULL DEFAULT '[]',
    metrics TEXT NOT NULL DEFAULT '{}',
    report TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS items (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    item_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    input TEXT NOT NULL,
    expected TEXT,
    prediction TEXT,
    output TEXT,
    scores TEXT NOT NULL DEFAULT '{}',
    latency_ms REAL,
    tokens INTEGER,
    error TEXT,
    PRIMARY KEY (run_id, item_id)
);
"""
_JSON_RUN = ("config", "prompts", "models", "metrics", "report")
_JSON_ITEM = ("input", "expected", "prediction", "output", "scores")


class RunNotFound(PlaitError):
    """No run with that id or name."""


class RunStore:
    """Read and write evaluation runs; safe to share between threads.

    Example:
        >>> store = RunStore(".plait/evals.db")  # doctest: +SKIP
        >>> store.get("baseline")["metrics"]["accuracy"]  # doctest: +SKIP
        0.73
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(_SCHEMA)

    def create(self, *, target: str, dataset: str, dataset_hash: str, n: int, config: dict[str, Any],
               name: str | None = None) -> int:
        """Start a run and return its id."""
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock:
            try:
                cursor = self._conn.execute(
                    "INSERT INTO runs (name, created, status, target, dataset, dataset_hash, n, config) "
                    "VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
                    (name, created, target, dataset, dataset_hash, n, json.dumps(config, default=str)))
            except sqlite3.IntegrityError as exc:
                raise PlaitError(f"A run named {name!r} exists already; pick another --name, or resume it "
                                 f"with --resume {name}.") from exc
        return int(cursor.lastrowid)

    def add_item(self, run_id: int, row: dict[str, Any]) -> None:
        """Store (or replace) one item's result; ``row`` has the ``items`` columns but ``run_id``."""
        values = {k: json.dumps(row.get(k), default=str) if k in _JSON_ITEM else row.get(k)
                  for k in ("item_id", "position", *_JSON_ITEM, "latency_ms", "tokens", "error")}
        with self._lock:
            self._conn.execute(
                f"INSERT OR REPLACE INTO items (run_id, {', '.join(values)}) VALUES (?, {', '.join('?' * len(values))})",
                (run_id, *values.values()))

    def update(self, run_id: int, **fields: Any) -> None:
        """Set run fields (``status``, ``prompts``, ``models``, ``metrics``, ``report``)."""
        sets = ", ".join(f"{k} = ?" for k in fields)
        values = [json.dumps(v, default=str) if k in _JSON_RUN else v for k, v in fields.items()]
        with self._lock:
            self._conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*values, run_id))

    def get(self, ref: int | str) -> dict[str, Any]:
        """Return a run by id or name (``latest`` is the newest run)."""
        with self._lock:
            if str(ref) == "latest":
                row = self._conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()
            else:
                row = self._conn.execute("SELECT * FROM runs WHERE id = ? OR name = ?",
                                         (int(ref) if str(ref).isdigit() else -1, str(ref))).fetchone()
        if row is None:
            raise RunNotFound(f"No evaluation run {ref!r} in {self.path}; `plait eval list` shows the runs.")
        return _decode(row, _JSON_RUN)

    def list(self, *, limit: int = 50) -> list[dict[str, Any]]:
        """Newest runs first."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [_decode(r, _JSON_RUN) for r in rows]

    def items(self, run_id: int) -> list[dict[str, Any]]:
        """A run's items in dataset order."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM items WHERE run_id = ? ORDER BY position",
                                      (run_id,)).fetchall()
        return [_decode(r, _JSON_ITEM) for r in rows]


def _decode(row: sqlite3.Row, json_fields: tuple[str, ...]) -> dict[str, Any]:
    out = dict(row)
    for key in json_fields:
        if out.get(key) is not None:
            out[key] = json.loads(out[key])
    return out
