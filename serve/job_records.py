"""Fine-tuning jobs and their events in ``serve.db``, and their OpenAI shapes.

A job row holds everything needed to run (or resume) it: base model, file ids, resolved
hyperparameters, seed and the name of the adapter it trains. Status changes are conditional
(``only_from``), so a cancel and the end of training cannot both win.

Example:
    >>> job = insert_job(data_dir, model="local:gemma-3-270m", training_file="file-1", ...)  # doctest: +SKIP
    >>> add_event(data_dir, job["id"], "Fine-tuning job started")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from plait.serve.storage import database, new_id

TERMINAL = ("succeeded", "failed", "cancelled")
RUNNABLE = ("queued", "running")
ORGANIZATION = "plait"


def insert_job(data_dir: Path, *, model: str, training_file: str, validation_file: str | None, adapter: str,
               hyperparameters: dict[str, Any], seed: int, suffix: str | None,
               job_id: str | None = None) -> sqlite3.Row:
    """Record a new queued job; return its row."""
    job_id = job_id or new_id("ftjob")
    with database(data_dir) as db:
        db.execute("INSERT INTO jobs (id, model, status, training_file, validation_file, adapter, hyperparameters, "
                   "seed, suffix, created_at) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)",
                   (job_id, model, training_file, validation_file, adapter, json.dumps(hyperparameters), seed,
                    suffix, int(time.time())))
        return db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()


def find_job(data_dir: Path, job_id: str) -> sqlite3.Row | None:
    """The job's row, or None."""
    with database(data_dir) as db:
        return db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()


def next_job(data_dir: Path) -> sqlite3.Row | None:
    """The job to run next: one interrupted while running, else the oldest queued one."""
    with database(data_dir) as db:
        return db.execute("SELECT * FROM jobs WHERE status IN (?, ?) ORDER BY status != 'running', seq LIMIT 1",
                          RUNNABLE).fetchone()


def set_status(data_dir: Path, job_id: str, status: str, *, only_from: Sequence[str], **fields: Any) -> bool:
    """Move a job to ``status`` (setting ``fields`` too) if it is in one of ``only_from``; True if it moved."""
    if status in TERMINAL:
        fields.setdefault("finished_at", int(time.time()))
    values = {k: json.dumps(v) if k in ("error", "result_files") else v for k, v in fields.items()}
    assignments = "".join(f", {name} = ?" for name in values)
    marks = ",".join("?" * len(only_from))
    with database(data_dir) as db:
        moved = db.execute(f"UPDATE jobs SET status = ?{assignments} WHERE id = ? AND status IN ({marks})",
                           (status, *values.values(), job_id, *only_from))
        return moved.rowcount == 1


def page(db: sqlite3.Connection, table: str, where: str, args: Sequence[Any], after_seq: int | None,
         limit: int) -> tuple[list[sqlite3.Row], bool]:
    """Rows newest first, those older than ``after_seq`` when given; and whether more follow."""
    if after_seq is not None:
        where, args = f"{where} AND seq < ?", [*args, after_seq]
    rows = db.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY seq DESC LIMIT ?", (*args, limit + 1)).fetchall()
    return rows[:limit], len(rows) > limit


def list_jobs(data_dir: Path, *, after: str | None, limit: int) -> tuple[list[sqlite3.Row], bool] | None:
    """Jobs newest first, after the job ``after``; None when ``after`` names no job."""
    with database(data_dir) as db:
        cursor = None
        if after is not None:
            found = db.execute("SELECT seq FROM jobs WHERE id = ?", (after,)).fetchone()
            if found is None:
                return None
            cursor = found["seq"]
        return page(db, "jobs", "1", [], cursor, limit)


def add_event(data_dir: Path, job_id: str, message: str, *, level: str = "info",
              data: dict[str, Any] | None = None) -> None:
    """Append an event to a job's log; events with ``data`` are ``metrics`` events."""
    with database(data_dir) as db:
        db.execute("INSERT INTO events (job_id, created_at, level, message, type, data) VALUES (?, ?, ?, ?, ?, ?)",
                   (job_id, int(time.time()), level, message, "metrics" if data else "message",
                    json.dumps(data) if data else None))


def list_events(data_dir: Path, job_id: str, *, after: str | None, limit: int) -> tuple[list[sqlite3.Row], bool]:
    """A job's events newest first, older than the event ``after`` (OpenAI's paging order)."""
    cursor = int(after.removeprefix("ftevent-")) if after and after.removeprefix("ftevent-").isdigit() else None
    with database(data_dir) as db:
        return page(db, "events", "job_id = ?", [job_id], cursor, limit)


def metrics(data_dir: Path, job_id: str) -> list[dict[str, Any]]:
    """The data of a job's metrics events, oldest first."""
    with database(data_dir) as db:
        rows = db.execute("SELECT data FROM events WHERE job_id = ? AND type = 'metrics' ORDER BY seq",
                          (job_id,)).fetchall()
    return [json.loads(row["data"]) for row in rows]


def job_object(row: sqlite3.Row) -> dict[str, Any]:
    """An OpenAI ``fine_tuning.job`` for a job row."""
    hyperparameters = json.loads(row["hyperparameters"])
    return {"id": row["id"], "object": "fine_tuning.job", "created_at": row["created_at"],
            "finished_at": row["finished_at"], "model": row["model"], "fine_tuned_model": row["fine_tuned_model"],
            "organization_id": ORGANIZATION, "status": row["status"], "training_file": row["training_file"],
            "validation_file": row["validation_file"], "result_files": json.loads(row["result_files"]),
            "hyperparameters": hyperparameters, "trained_tokens": row["trained_tokens"],
            "error": json.loads(row["error"]) if row["error"] else None, "seed": row["seed"],
            "estimated_finish": None, "integrations": None, "metadata": None, "user_provided_suffix": row["suffix"],
            "method": {"type": "supervised", "supervised": {"hyperparameters": hyperparameters}}}


def event_object(row: sqlite3.Row) -> dict[str, Any]:
    """An OpenAI ``fine_tuning.job.event`` for an event row."""
    return {"id": f"ftevent-{row['seq']}", "object": "fine_tuning.job.event", "created_at": row["created_at"],
            "level": row["level"], "message": row["message"], "type": row["type"],
            "data": json.loads(row["data"]) if row["data"] else None}
