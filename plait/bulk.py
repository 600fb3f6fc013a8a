"""Bulk jobs: stream rows through a node with N requests in flight, append results, resume after a kill.

The runner behind ``plait classify`` (and yours: any function from a list of texts to a list of
results). Input is streamed (constant memory on files of any size); up to ``concurrency`` chunks
of ``batch_size`` texts are in flight at once (threads: remote clients wait on the network; the
local llama.cpp model still runs one call at a time behind its own lock); rate limits (HTTP 429,
with ``retry-after`` when the server sends one) are retried with bounded exponential backoff;
every result is appended to the output JSONL **in input order** as soon as it and all rows
before it are done, and flushed, so a job killed at any point loses at most the rows in flight.
``resume=True`` skips rows already in the output, keyed by row number and a hash of the text,
so nothing is done twice.

Example:
    >>> from plait.bulk import BulkOptions, run_bulk
    >>> report = run_bulk(enumerate(["a", "b", "c"], 1), lambda texts: [t.upper() for t in texts],
    ...                   "/tmp/plait-bulk-doc.jsonl", record=lambda result: {"label": result},
    ...                   options=BulkOptions(concurrency=2), progress=False)
    >>> report.done, report.failed
    (3, 0)
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.errors import PlaitError


@dataclass(frozen=True)
class BulkOptions:
    """How a bulk job runs."""

    concurrency: int = 1
    """Chunks in flight at once (for remote models; a local model serves one call at a time anyway)."""
    batch_size: int = 1
    """Texts per call (batch prompting packs them into one prompt)."""
    retries: int = 6
    """Attempts after a rate limit (HTTP 429) before the chunk's rows are reported as failed."""
    backoff: float = 1.0
    """First wait after a rate limit without ``retry-after``, in seconds; doubled each time."""
    max_wait: float = 60.0
    """Longest single wait, whatever the server asks."""


@dataclass
class BulkReport:
    """What a run did."""

    done: int = 0
    """Rows written by this run (results and failures)."""
    failed: int = 0
    skipped: int = 0
    """Rows found in the output already (``resume``)."""
    retries: int = 0
    """Rate-limited calls retried."""
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    """The first few error messages, for the summary."""
    usage: list[int] = field(default_factory=lambda: [0, 0])
    """Input and output tokens the provider reported, where it reports them (the Batch API)."""


def row_key(number: int, text: str) -> str:
    """The identity of a row: its number and a hash of its text (a changed file is not mistaken for done)."""
    return f"{number}:{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}"


def done_keys(out: Path) -> set[str]:
    """Keys of the rows ``out`` holds; a torn last line (the job was killed mid-write) is cut off."""
    if not out.exists():
        return set()
    keys, good_bytes = set(), 0
    with out.open("rb") as f:
        for raw in f:
            try:
                keys.add(json.loads(raw)["key"])
            except (ValueError, KeyError, TypeError):
                break  # only the last line can be torn: everything before it was flushed whole
            good_bytes += len(raw)
    if good_bytes < out.stat().st_size:
        with out.open("r+b") as f:
            f.truncate(good_bytes)
    return keys


def rate_limit_wait(exc: BaseException, attempt: int, options: BulkOptions) -> float | None:
    """Seconds to wait before retrying after ``exc``, or None when it is not a rate limit."""
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    if status != 429:
        return None
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    try:
        asked = float(headers.get("retry-after", ""))
    except (TypeError, ValueError):
        asked = options.backoff * 2 ** attempt
    return min(max(asked, 0.0), options.max_wait)


def _call_with_retries(call: Callable[[list[str]], list[Any]], texts: list[str], options: BulkOptions,
                       report: BulkReport, sleep: Callable[[float], None]) -> list[Any] | BaseException:
    for attempt in range(options.retries + 1):
        try:
            results = call(texts)
            if len(results) != len(texts):
                raise PlaitError(f"The node returned {len(results)} results for {len(texts)} texts.")
            return results
        except Exception as exc:  # a failed chunk is reported per row; the job goes on
            wait = rate_limit_wait(exc, attempt, options)
            if wait is None or attempt == options.retries:
                return exc
            report.retries += 1
            sleep(wait)
    raise AssertionError("unreachable")


Row = tuple[int, str] | tuple[int, str, dict[str, Any]]
"""(number, text) or (number, text, fields copied into its output line, e.g. the expected label)."""


def _chunks(rows: Iterable[Row], skip: set[str], size: int, report: BulkReport) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        if row_key(row[0], row[1]) in skip:
            report.skipped += 1
            continue
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def output_line(row: Row, result: Any, record: Callable[[Any], dict[str, Any]], failed: dict[str, Any],
                report: BulkReport, *, no_result: str = "not classified") -> dict[str, Any]:
    """The output line of one row (its result's fields, or ``failed`` and the error), counted in ``report``."""
    number, text = row[0], row[1]
    line = {"row": number, "key": row_key(number, text), "text": text, **(row[2] if len(row) > 2 else {})}
    report.done += 1
    if not isinstance(result, BaseException) and result is not None:
        return line | record(result) | {"error": None}
    message = no_result if result is None else \
        str(result) if isinstance(result, PlaitError) else f"{type(result).__name__}: {result}"
    report.failed += 1
    if len(report.errors) < 5:
        report.errors.append(f"row {number}: {message}")
    return line | failed | {"error": message}


def run_bulk(rows: Iterable[Row], call: Callable[[list[str]], list[Any]], out: str | Path, *,
             record: Callable[[Any], dict[str, Any]], options: BulkOptions = BulkOptions(), resume: bool = False,
             progress: bool = True, sleep: Callable[[float], None] = time.sleep,
             on_row: Callable[[dict[str, Any]], None] | None = None, failed: dict[str, Any] | None = None) -> BulkReport:
    """Run ``call`` over ``rows`` ((number, text[, fields])), appending one JSON line per row to ``out``.

    ``record(result)`` turns a result into the fields of its line (``row``, ``key``, ``text`` and
    ``error`` are added); ``failed`` are the fields of a row without a result (``{"label": None}``).
    ``call`` may return an exception in place of a result to fail that row alone. ``on_row`` sees
    every line written (for running totals). Without ``resume`` an existing ``out`` is replaced.
    """
    failed = failed or {}
    if options.concurrency < 1 or options.batch_size < 1:
        raise PlaitError("concurrency and batch_size must be at least 1.")
    out = Path(out)
    report, started = BulkReport(), time.perf_counter()
    skip = done_keys(out) if resume else set()
    out.parent.mkdir(parents=True, exist_ok=True)
    bar = _progress(progress)
    with out.open("a" if resume else "w", encoding="utf-8") as sink, \
            ThreadPoolExecutor(options.concurrency, thread_name_prefix="plait-bulk") as pool, bar:
        task = bar.add_task("rows", total=None)
        pending: deque[tuple[list[Row], Future]] = deque()

        def write_head() -> None:
            chunk, future = pending.popleft()
            results = future.result()
            for row, result in zip(chunk, results if isinstance(results, list) else [results] * len(chunk)):
                line = output_line(row, result, record, failed, report)
                sink.write(json.dumps(line, ensure_ascii=False) + "\n")
                if on_row is not None:
                    on_row(line)
            sink.flush()
            bar.advance(task, len(chunk))

        for chunk in _chunks(rows, skip, options.batch_size, report):
            texts = [row[1] for row in chunk]
            pending.append((chunk, pool.submit(_call_with_retries, call, texts, options, report, sleep)))
            while pending and (pending[0][1].done() or len(pending) >= 2 * options.concurrency):
                write_head()  # in input order; at most 2 x concurrency chunks held in memory
        while pending:
            write_head()
    report.seconds = time.perf_counter() - started
    return report


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def advance(self, *args: Any) -> None:
        return None


def _progress(show: bool) -> Any:
    if not show:
        return _NoProgress()
    from rich.console import Console
    from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("rows done"), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True))
