"""Tracing: every model call written to SQLite, the raw material for evaluation and fine-tuning.

Models resolved by :func:`plait.models.resolve_model` carry the tracer for the configured
database. Any other LangChain model can be traced by passing the handler as a callback::

    llm.invoke("hi", config={"callbacks": [tracer_for(".plait/traces.db")]})

Rows record the node (``plait_node`` or LangGraph's ``langgraph_node`` metadata), the prompt
template ``name@version`` (``plait_prompt`` metadata), the model reference, messages, output,
token counts, latency and cost.
"""

from __future__ import annotations

import atexit
import json
import logging
import re
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult

from plait.errors import PlaitError

logger = logging.getLogger("plait.tracing")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS traces (
    run_id TEXT PRIMARY KEY,
    parent_run_id TEXT,
    started_at TEXT NOT NULL,
    node TEXT,
    prompt TEXT,
    model_ref TEXT,
    adapter TEXT,
    messages TEXT NOT NULL,
    output TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    latency_ms REAL,
    cost_usd REAL,
    error TEXT,
    metadata TEXT
);
CREATE INDEX IF NOT EXISTS traces_node ON traces(node);
CREATE INDEX IF NOT EXISTS traces_started ON traces(started_at);
"""
COLUMNS = ("run_id", "parent_run_id", "started_at", "node", "prompt", "model_ref", "adapter", "messages",
           "output", "prompt_tokens", "completion_tokens", "latency_ms", "cost_usd", "error", "metadata")
_LOCAL_SCHEMES = ("local:", "gguf:", "lora:")
_GATHER_S = 0.05  # how long the writer gathers rows after the first one wakes it


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")  # readers (the CLI) never block the writer
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(_SCHEMA)
    return conn


def _message_dict(message: BaseMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.type, "content": message.content}
    if getattr(message, "tool_calls", None):
        out["tool_calls"] = [{"name": c["name"], "args": c["args"], "id": c.get("id")} for c in message.tool_calls]
    return out


@dataclass(slots=True)
class _Pending:
    started: float
    started_at: float
    messages: list[Any]
    metadata: dict[str, Any]
    parent_run_id: UUID | None


# Live tracers, so that reading a trace database first writes out rows still queued for it.
_LIVE: weakref.WeakSet[SQLiteTracer] = weakref.WeakSet()


@atexit.register
def flush_tracers(path: str | Path | None = None) -> None:
    """Write out every queued trace row (for ``path`` only, when given)."""
    target = Path(path).resolve() if path is not None else None
    for tracer in list(_LIVE):
        if target is None or tracer.path.resolve() == target:
            tracer.flush()


class SQLiteTracer(BaseCallbackHandler):
    """LangChain callback handler that writes one row per model call.

    Rows are written by a background thread in batches, so a traced call costs the caller
    a few hundredths of a millisecond instead of a SQLite commit; :meth:`flush` (or reading the database with
    :class:`TraceStore`, or the end of the process) writes out what is queued.

    Example:
        >>> tracer = SQLiteTracer(".plait/traces.db")  # doctest: +SKIP
        >>> llm.invoke("hi", config={"callbacks": [tracer]})  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, prices: Mapping[str, tuple[float, float]] | None = None) -> None:
        self.path = Path(path)
        self.prices = dict(prices or {})
        self._conn = _connect(self.path)
        self._pending: dict[UUID, _Pending] = {}
        # Finished calls waiting for the writer. deque.append is atomic, so the caller takes no
        # lock; flush() drops a threading.Event in the same line, set once the rows before it are in.
        self._rows: deque[tuple | threading.Event] = deque()
        self._wake = threading.Event()
        self._urgent = False
        self._writer = threading.Thread(target=self._write_loop, name="plait-tracer", daemon=True)
        self._writer.start()
        _LIVE.add(self)

    def _write_loop(self) -> None:
        insert = f"INSERT OR REPLACE INTO traces VALUES ({','.join('?' * len(COLUMNS))})"
        while True:
            self._wake.wait()
            self._wake.clear()
            if not self._urgent:
                # Waking once per call would take the GIL from the caller on every call; gathering
                # rows for a moment makes one wake-up (and one transaction) per burst instead.
                time.sleep(_GATHER_S)
            self._urgent = False
            items = []
            while self._rows:
                items.append(self._rows.popleft())
            built = []
            for item in items:  # one bad row must not cost the others
                if isinstance(item, threading.Event):
                    continue
                try:
                    built.append(self._row(*item))
                except Exception as exc:  # noqa: BLE001 - tracing must never break the application
                    logger.warning("plait skipped a trace row it could not build: %s", exc)
            try:
                if built:
                    with self._conn:
                        self._conn.execute("BEGIN")
                        self._conn.executemany(insert, built)
            except Exception as exc:  # noqa: BLE001 - the writer must survive whatever happens
                logger.warning("plait could not write %d trace rows to %s: %s", len(built), self.path, exc)
            finally:
                for item in items:
                    if isinstance(item, threading.Event):
                        item.set()

    def flush(self) -> None:
        """Block until every queued row is in the database."""
        if not self._writer.is_alive():  # e.g. in a forked child: start a writer of its own
            self._writer = threading.Thread(target=self._write_loop, name="plait-tracer", daemon=True)
            self._conn = _connect(self.path)
            self._wake = threading.Event()
            self._writer.start()
        done = threading.Event()
        self._rows.append(done)
        self._urgent = True
        self._wake.set()
        done.wait()

    def _start(self, run_id: UUID, parent_run_id: UUID | None, messages: list[Any],
               metadata: dict[str, Any] | None) -> None:
        # Only cheap work here, on the caller's path: the row is built on the writer thread.
        self._pending[run_id] = _Pending(time.perf_counter(), time.time(), messages, metadata or {},
                                         parent_run_id)

    def on_chat_model_start(self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *,
                            run_id: UUID, parent_run_id: UUID | None = None,
                            metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._start(run_id, parent_run_id, messages[0], metadata)

    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID,
                     parent_run_id: UUID | None = None, metadata: dict[str, Any] | None = None,
                     **kwargs: Any) -> None:
        self._start(run_id, parent_run_id, [{"role": "prompt", "content": prompts[0]}], metadata)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        generation = response.generations[0][0] if response.generations and response.generations[0] else None
        message = getattr(generation, "message", None)
        output = _output_text(generation, message)
        usage = (getattr(message, "usage_metadata", None) or {}) if message is not None else {}
        if not usage and response.llm_output:
            token_usage = response.llm_output.get("token_usage") or {}
            usage = {"input_tokens": token_usage.get("prompt_tokens"),
                     "output_tokens": token_usage.get("completion_tokens")}
        self._finish(run_id, output=output, prompt_tokens=usage.get("input_tokens"),
                     completion_tokens=usage.get("output_tokens"), error=None)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._finish(run_id, output=None, prompt_tokens=None, completion_tokens=None,
                     error=f"{type(error).__name__}: {error}")

    def _finish(self, run_id: UUID, *, output: str | None, prompt_tokens: int | None,
                completion_tokens: int | None, error: str | None) -> None:
        pending = self._pending.pop(run_id, None)
        if pending is not None:  # the row itself is built on the writer thread, off the caller's path
            latency = (time.perf_counter() - pending.started) * 1000
            self._rows.append((run_id, pending, output, prompt_tokens, completion_tokens, error, latency))
            if not self._wake.is_set():
                self._wake.set()

    def _row(self, run_id: UUID, pending: _Pending, output: str | None, prompt_tokens: int | None,
             completion_tokens: int | None, error: str | None, latency: float) -> tuple:
        meta = pending.metadata
        ref = meta.get("plait_model_ref") or _ls_ref(meta)
        messages = [m if isinstance(m, dict) else _message_dict(m) for m in pending.messages]
        return (
            str(run_id), str(pending.parent_run_id) if pending.parent_run_id else None,
            datetime.fromtimestamp(pending.started_at, timezone.utc).isoformat(),
            meta.get("plait_node") or meta.get("langgraph_node"), meta.get("plait_prompt"), ref,
            meta.get("plait_adapter") or (ref.removeprefix("lora:") if ref and ref.startswith("lora:") else None),
            json.dumps(messages, default=str), output, prompt_tokens, completion_tokens, latency,
            self._cost(ref, prompt_tokens, completion_tokens), error, json.dumps(_plain(meta), default=str),
        )

    def _cost(self, ref: str | None, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
        if ref and ref.startswith(_LOCAL_SCHEMES):
            return 0.0
        if ref not in self.prices or prompt_tokens is None or completion_tokens is None:
            return None
        per_in, per_out = self.prices[ref]
        return (prompt_tokens * per_in + completion_tokens * per_out) / 1_000_000


def _output_text(generation: Any, message: Any) -> str | None:
    if generation is None:
        return None
    if message is not None and getattr(message, "tool_calls", None):
        return json.dumps({"content": message.content, "tool_calls": [
            {"name": c["name"], "args": c["args"]} for c in message.tool_calls]})
    return generation.text


def _ls_ref(meta: Mapping[str, Any]) -> str | None:
    provider, name = meta.get("ls_provider"), meta.get("ls_model_name")
    if not name or ":" in name or not provider:  # plait models already report a full reference
        return name
    return f"{provider}:{name}"


def _plain(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if isinstance(v, (str, int, float, bool)) or v is None}


@lru_cache(maxsize=8)
def tracer_for(path: str | Path, prices: tuple[tuple[str, float, float], ...] = ()) -> SQLiteTracer:
    """Return the process-wide tracer writing to ``path``."""
    return SQLiteTracer(path, prices={ref: (i, o) for ref, i, o in prices})


class TraceStore:
    """Read access to a trace database.

    Example:
        >>> store = TraceStore(".plait/traces.db")  # doctest: +SKIP
        >>> [row["node"] for row in store.list(limit=5)]  # doctest: +SKIP
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        flush_tracers(self.path)
        if not self.path.exists():
            raise PlaitError(f"No trace database at {self.path}. Run a model call first (plait ask \"hi\"), "
                             "or point [tracing].db in plait.toml at your database.")
        self._conn = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True)
        self._conn.row_factory = sqlite3.Row

    def list(self, *, limit: int = 20, node: str | None = None) -> list[dict[str, Any]]:
        """Return the newest rows first, optionally only one node's."""
        flush_tracers(self.path)
        where, args = ("WHERE node = ?", [node]) if node else ("", [])
        rows = self._conn.execute(f"SELECT * FROM traces {where} ORDER BY started_at DESC LIMIT ?",
                                  [*args, limit])
        return [_decode(r) for r in rows]

    def get(self, run_id: str) -> dict[str, Any]:
        """Return one row by run id, or a unique start or end of it.

        LangChain's run ids are time-ordered (UUIDv7), so calls made together share a start;
        ``plait traces list`` shows the random end instead.
        """
        if not re.fullmatch(r"[0-9a-fA-F-]{1,64}", run_id):  # also keeps LIKE's % and _ out of the pattern
            raise PlaitError(f"{run_id[:40]!r} is not a run id (hex digits and dashes, as `plait traces list` "
                             "shows them); copy one from there.")
        flush_tracers(self.path)
        rows = self._conn.execute("SELECT * FROM traces WHERE run_id LIKE ? OR run_id LIKE ? LIMIT 2",
                                  [run_id + "%", "%" + run_id]).fetchall()
        if len(rows) != 1:
            problem = "matches several traces" if rows else "matches no trace"
            raise PlaitError(f"Run id {run_id!r} {problem}; copy a full id from `plait traces list`.")
        return _decode(rows[0])

    def iter(self, *, node: str | None = None, errors: bool = False) -> Iterator[dict[str, Any]]:
        """Yield rows oldest first; failed calls only when ``errors`` is True."""
        flush_tracers(self.path)
        clauses = [c for c in ("node = ?" if node else "", "" if errors else "error IS NULL") if c]
        where = "WHERE " + " AND ".join(clauses) if clauses else ""
        for row in self._conn.execute(f"SELECT * FROM traces {where} ORDER BY started_at", [node] if node else []):
            yield _decode(row)


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    out["messages"] = json.loads(out["messages"])
    out["metadata"] = json.loads(out["metadata"] or "{}")
    return out


class TokenCounter(BaseCallbackHandler):
    """Callback that adds up tokens per graph node (LangGraph's node, else the plait node).

    Example:
        >>> counter = TokenCounter()
        >>> graph.invoke(state, config={"callbacks": [counter]})  # doctest: +SKIP
        >>> counter.by_node  # doctest: +SKIP
        {'classify': 412, 'help_centre': 655}
    """

    def __init__(self) -> None:
        self.by_node: dict[str, int] = {}
        self._nodes: dict[UUID, str] = {}

    def on_chat_model_start(self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: UUID,
                            metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        meta = metadata or {}
        self._nodes[run_id] = meta.get("langgraph_node") or meta.get("plait_node") or "-"

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        node = self._nodes.pop(run_id, "-")
        message = getattr(response.generations[0][0], "message", None) if response.generations else None
        usage = getattr(message, "usage_metadata", None) or {}
        self.by_node[node] = self.by_node.get(node, 0) + (usage.get("total_tokens") or 0)
