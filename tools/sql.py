"""Read-only SQL over SQLite: SELECT only, one statement, parameters, a row limit.

Safety is layered: the connection is opened read-only, an authorizer denies every action but
reading, and the text must be a single SELECT (or WITH ... SELECT).

Example:
    >>> from plait.tools import shop_database
    >>> run_select(shop_database(), "SELECT id, status FROM orders WHERE id = ?", ["A1001"])  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException

ROW_LIMIT = 50
MAX_VALUE_BYTES = 100_000
"""Largest string or blob a query may build (stops group_concat/randomblob blow-ups)."""
TIME_LIMIT_S = 5.0
"""Longest a query may run (stops runaway joins)."""
_ALLOWED_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION}


def _authorizer(action: int, *args: Any) -> int:
    # Reading only: INSERT/UPDATE/DELETE/CREATE/DROP/ATTACH/PRAGMA writes are all denied by SQLite itself.
    return sqlite3.SQLITE_OK if action in _ALLOWED_ACTIONS else sqlite3.SQLITE_DENY


def connect_read_only(path: str | Path) -> sqlite3.Connection:
    """Open ``path`` read-only with the reading-only authorizer."""
    if not Path(path).is_file():
        raise ToolException(f"no database at {path}")
    uri = Path(path).resolve().as_uri() + "?mode=ro"  # as_uri escapes '?', '#' and '%' in the path
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    conn.set_authorizer(_authorizer)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    return conn


def _check_select(query: str) -> str:
    text = query.strip().rstrip(";").strip()
    if not re.match(r"(?is)^(select|with)\b", text):
        raise ToolException("only SELECT queries are allowed (this tool is read-only)")
    if not sqlite3.complete_statement(text + ";") or ";" in _outside_strings(text):
        raise ToolException("give exactly one SELECT statement (no ';'-separated statements)")
    return text


def _outside_strings(text: str) -> str:
    return re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", "", text)


def run_select(path: str | Path, query: str, params: Sequence[Any] = (), *, row_limit: int = ROW_LIMIT) -> dict[str, Any]:
    """Run one SELECT; return ``{"columns", "rows", "truncated"}``."""
    text = _check_select(query)
    deadline = time.monotonic() + TIME_LIMIT_S
    with connect_read_only(path) as conn:
        conn.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)  # non-zero aborts the query
        try:
            cursor = conn.execute(text, tuple(params))
        except sqlite3.DatabaseError as exc:
            raise ToolException(f"query failed: {exc}") from exc
        rows = cursor.fetchmany(row_limit + 1)
        columns = [d[0] for d in cursor.description or []]
    return {"columns": columns, "rows": [list(r) for r in rows[:row_limit]], "truncated": len(rows) > row_limit}


def schema_text(path: str | Path) -> str:
    """The CREATE statements of the database's tables, for prompts."""
    with connect_read_only(path) as conn:
        rows = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL").fetchall()
    return "\n".join(r[0] + ";" for r in rows)


def sql_tool(path: str | Path, *, name: str = "sql_query", row_limit: int = ROW_LIMIT) -> BaseTool:
    """A tool that runs one read-only, parameterised SELECT on the SQLite file at ``path``."""

    def sql_query(query: str, params: list[str | int | float] | None = None) -> str:
        result = run_select(path, query, params or [], row_limit=row_limit)
        return json.dumps(result, default=str)

    return StructuredTool.from_function(
        sql_query, name=name, handle_tool_error=True,
        description=f"Run one read-only SQL SELECT (use ? placeholders with params). Schema:\n{schema_text(path)}")
