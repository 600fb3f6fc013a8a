"""OpenAI's Files API for fine-tuning data: ``/v1/files``.

- ``POST /v1/files`` (multipart: ``file``, ``purpose=fine-tune``) stores a chat JSONL file
  after checking every line as :func:`plait.finetune.data.parse_examples` does; a bad line is
  a 400 naming the line (``train.jsonl:3: message 2 has unknown role 'bot'; ...``).
- ``GET /v1/files`` (``purpose``, ``limit``, ``order``, ``after``), ``GET /v1/files/{id}``,
  ``GET /v1/files/{id}/content``, ``DELETE /v1/files/{id}``.

Files live in ``<data_dir>/files/<id>``, named by their generated id only: the client's
file name is kept as metadata and never touches the path. Results of fine-tuning jobs are
stored here too, with purpose ``fine-tune-results``.

Example:
    >>> client.files.create(file=open("train.jsonl", "rb"), purpose="fine-tune").id  # doctest: +SKIP
    'file-3f1c...'
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response

from plait.serve.storage import database, new_id

router = APIRouter(prefix="/v1")
PURPOSE = "fine-tune"
RESULTS_PURPOSE = "fine-tune-results"
ACTIVE_JOB_STATES = ("validating_files", "queued", "running")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def display_name(filename: str | None) -> str:
    """The client's file name as metadata: last path part, no control characters, at most 255 characters.

    Example:
        >>> display_name("../../etc/passwd")
        'passwd'
    """
    name = _UNSAFE.sub("", re.split(r"[/\\]", filename or "")[-1]).strip()
    return name[:255] or "upload.jsonl"


def file_object(row: sqlite3.Row) -> dict[str, Any]:
    """An OpenAI ``FileObject`` for a stored file."""
    return {"id": row["id"], "object": "file", "bytes": row["bytes"], "created_at": row["created_at"],
            "filename": row["filename"], "purpose": row["purpose"], "status": "processed", "status_details": None,
            "expires_at": None}


def store_file(data_dir: Path, content: bytes, *, filename: str, purpose: str) -> sqlite3.Row:
    """Write ``content`` under a generated name and record it; return its row."""
    file_id = new_id("file")
    folder = data_dir / "files"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_id
    tmp = path.with_suffix(".partial")
    tmp.write_bytes(content)
    os.replace(tmp, path)  # a crash never leaves a half file behind a recorded id
    with database(data_dir) as db:
        db.execute("INSERT INTO files (id, filename, purpose, bytes, created_at, path) VALUES (?, ?, ?, ?, ?, ?)",
                   (file_id, display_name(filename), purpose, len(content), int(time.time()), path.name))
        return db.execute("SELECT * FROM files WHERE id = ?", (file_id,)).fetchone()


def find_file(data_dir: Path, file_id: str) -> sqlite3.Row | None:
    """The stored file's row, or None."""
    with database(data_dir) as db:
        return db.execute("SELECT * FROM files WHERE id = ?", (file_id,)).fetchone()


def file_bytes(data_dir: Path, row: sqlite3.Row) -> bytes:
    """The content of a stored file."""
    return (data_dir / "files" / row["path"]).read_bytes()


def check_examples(content: bytes, filename: str) -> list[dict[str, Any]]:
    """Decode and validate fine-tuning JSONL; raise a 400 naming the bad line.

    Example:
        >>> len(check_examples(b'{"prompt": "hi", "completion": "hello"}', "train.jsonl"))
        1
    """
    from plait.finetune.data import DataError, parse_examples  # a layer above the core: imported where used

    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, detail={"message": f"{filename} is not UTF-8 text ({exc.reason} at byte "
                                                    f"{exc.start}); save it as UTF-8 and upload it again.",
                                         "param": "file", "code": "invalid_file_format"}) from exc
    try:
        return parse_examples(text, source=filename)
    except DataError as exc:
        raise HTTPException(400, detail={"message": f"Invalid fine-tuning file: {exc} Fix it and upload the "
                                                    "file again.", "param": "file",
                                         "code": "invalid_file_format"}) from exc


def _not_found(file_id: str) -> HTTPException:
    return HTTPException(404, detail={"message": f"No file {file_id!r}; GET /v1/files lists the uploaded files.",
                                      "param": "file_id", "code": "file_not_found"})


def _existing(request: Request, file_id: str) -> sqlite3.Row:
    row = find_file(request.app.state.data_dir, file_id)
    if row is None:
        raise _not_found(file_id)
    return row


@router.post("/files")
def upload_file(request: Request, file: UploadFile = File(...), purpose: str = Form(...)) -> dict[str, Any]:
    """Upload chat JSONL for fine-tuning (``purpose=fine-tune``); every line is checked first."""
    if purpose != PURPOSE:
        raise HTTPException(400, detail={"message": f"purpose must be {PURPOSE!r}: plait serve stores files for "
                                                    f"fine-tuning only (got {purpose!r}).", "param": "purpose"})
    name = display_name(file.filename)
    content = file.file.read()
    check_examples(content, name)
    return file_object(store_file(request.app.state.data_dir, content, filename=name, purpose=purpose))


@router.get("/files")
def list_files(request: Request, purpose: str | None = None, limit: int = 10_000, order: str = "desc",
               after: str | None = None) -> dict[str, Any]:
    """Stored files, newest first (``order=asc`` for oldest first); ``after`` is the last id of the previous page."""
    if order not in ("asc", "desc") or not 1 <= limit <= 10_000:
        raise HTTPException(400, detail={"message": "order must be 'asc' or 'desc', and limit 1 to 10000.",
                                         "param": "order" if order not in ("asc", "desc") else "limit"})
    newer = order == "desc"
    query, args = "SELECT * FROM files WHERE (? IS NULL OR purpose = ?)", [purpose, purpose]
    with database(request.app.state.data_dir) as db:
        if after is not None:
            cursor = db.execute("SELECT seq FROM files WHERE id = ?", (after,)).fetchone()
            if cursor is None:
                raise _not_found(after)
            query, args = query + f" AND seq {'<' if newer else '>'} ?", [*args, cursor["seq"]]
        rows = db.execute(f"{query} ORDER BY seq {'DESC' if newer else 'ASC'} LIMIT ?", (*args, limit + 1)).fetchall()
    data = [file_object(row) for row in rows[:limit]]
    return {"object": "list", "data": data, "has_more": len(rows) > limit,
            "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None}


@router.get("/files/{file_id}")
def retrieve_file(file_id: str, request: Request) -> dict[str, Any]:
    """One stored file's description."""
    return file_object(_existing(request, file_id))


@router.get("/files/{file_id}/content")
def file_content(file_id: str, request: Request) -> Response:
    """A stored file's bytes, as uploaded."""
    row = _existing(request, file_id)
    return Response(file_bytes(request.app.state.data_dir, row), media_type="application/octet-stream")


@router.delete("/files/{file_id}")
def delete_file(file_id: str, request: Request) -> dict[str, Any]:
    """Delete a stored file; refused (409) while a job that has not finished uses it."""
    data_dir: Path = request.app.state.data_dir
    row = _existing(request, file_id)
    with database(data_dir) as db:
        marks = ",".join("?" * len(ACTIVE_JOB_STATES))
        job = db.execute(f"SELECT id FROM jobs WHERE (training_file = ? OR validation_file = ?) AND status IN "
                         f"({marks})", (file_id, file_id, *ACTIVE_JOB_STATES)).fetchone()
        if job is not None:
            raise HTTPException(409, detail={"message": f"File {file_id} is used by fine-tuning job {job['id']}, "
                                                        "which has not finished; wait for it, or cancel it first.",
                                             "param": "file_id", "code": "file_in_use"})
        db.execute("DELETE FROM files WHERE id = ?", (file_id,))
    (data_dir / "files" / row["path"]).unlink(missing_ok=True)
    return {"id": file_id, "object": "file", "deleted": True}
