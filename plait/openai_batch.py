"""OpenAI's Batch API for bulk jobs: half the price of online calls, results within 24 hours.

:func:`run_batch` writes one chat-completion request per row (JSONL, streamed), uploads it,
creates the batch, follows it with a progress bar, downloads the results and the errors, and
writes them to the output JSONL in input order, in the same line format as
:func:`plait.bulk.run_bulk` (a failed row carries its error). The batch id is kept beside the
output (``OUT.batch.json``), so a run that stops while the batch is running picks it up again
instead of paying twice.

Example:
    >>> report = run_batch(rows, model="gpt-4o-mini", messages=to_messages, parse=to_label,  # doctest: +SKIP
    ...                    out="results.jsonl", record=lambda label: {"label": label})
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from plait.bulk import BulkReport, Row, output_line, row_key
from plait.errors import MissingAPIKeyError, PlaitError

RUNNING = ("validating", "in_progress", "finalizing", "cancelling")
ENDPOINT = "/v1/chat/completions"


def state_path(out: Path) -> Path:
    """Where the batch of ``out`` is remembered."""
    return out.with_name(out.name + ".batch.json")


def _client() -> Any:
    if not os.environ.get("OPENAI_API_KEY"):
        raise MissingAPIKeyError("The Batch API needs OPENAI_API_KEY; set it, or run without --batch-api.")
    import openai

    return openai.OpenAI(max_retries=3, timeout=120)


def _submit(client: Any, rows: Iterable[Row], model: str, messages: Callable[[str], list[dict[str, str]]],
            out: Path, max_tokens: int) -> dict[str, Any]:
    requests, n = out.with_name(out.name + ".requests.jsonl"), 0
    with requests.open("w", encoding="utf-8") as f:
        for row in rows:
            body = {"model": model, "messages": messages(row[1]), "max_tokens": max_tokens, "temperature": 0}
            f.write(json.dumps({"custom_id": row_key(row[0], row[1]), "method": "POST", "url": ENDPOINT,
                                "body": body}, ensure_ascii=False) + "\n")
            n += 1
    with requests.open("rb") as f:
        uploaded = client.files.create(file=f, purpose="batch")
    batch = client.batches.create(input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h")
    state = {"batch_id": batch.id, "input_file_id": uploaded.id, "rows": n, "model": model}
    state_path(out).write_text(json.dumps(state), encoding="utf-8")
    requests.unlink()
    return state


def _follow(client: Any, batch_id: str, poll_seconds: float, sleep: Callable[[float], None], progress: bool) -> Any:
    from rich.console import Console

    console = Console(stderr=True)
    batch = client.batches.retrieve(batch_id)
    while batch.status in RUNNING:
        counts = batch.request_counts
        if progress and counts is not None:
            console.print(f"batch {batch_id}: {batch.status}, {counts.completed + counts.failed}/{counts.total} done")
        sleep(poll_seconds)
        batch = client.batches.retrieve(batch_id)
    return batch


def _results(client: Any, file_id: str | None) -> dict[str, dict[str, Any]]:
    if not file_id:
        return {}
    text = client.files.content(file_id).text
    return {item["custom_id"]: item for item in map(json.loads, filter(str.strip, text.splitlines()))}


def _outcome(item: dict[str, Any] | None, parse: Callable[[str], Any], status: str) -> Any:
    """The parsed answer of one result line, or the reason it has none (an exception)."""
    if item is None:
        return PlaitError(f"no result: the batch ended {status}")
    response = item.get("response") or {}
    if item.get("error") or response.get("status_code", 200) >= 400:
        error = item.get("error") or (response.get("body") or {}).get("error") or {}
        return PlaitError(f"batch error: {error.get('message') or error}")
    try:
        return parse(response["body"]["choices"][0]["message"]["content"] or "")
    except (KeyError, IndexError, TypeError) as exc:
        return PlaitError(f"unreadable batch result ({exc})")


def run_batch(rows: Callable[[], Iterable[Row]], *, model: str, messages: Callable[[str], list[dict[str, str]]],
              parse: Callable[[str], Any], out: str | Path, record: Callable[[Any], dict[str, Any]],
              failed: dict[str, Any] | None = None, client: Any = None, max_tokens: int = 16,
              poll_seconds: float = 30.0, sleep: Callable[[float], None] = time.sleep,
              progress: bool = True) -> BulkReport:
    """Run ``rows()`` through the Batch API; write ``out`` in input order; resume a submitted batch.

    ``rows`` is called twice (to submit, then to merge), so the input is streamed both times.
    ``messages(text)`` are the chat messages of a row (``[{"role", "content"}, ...]``), ``parse``
    turns a reply into a result (None: not understood), ``record(result)`` into output fields.
    """
    out, started, report = Path(out), time.perf_counter(), BulkReport()
    client = client or _client()
    saved = state_path(out)
    state = json.loads(saved.read_text(encoding="utf-8")) if saved.is_file() else \
        _submit(client, rows(), model, messages, out, max_tokens)
    batch = _follow(client, state["batch_id"], poll_seconds, sleep, progress)
    if batch.status != "completed" and not batch.output_file_id and not batch.error_file_id:
        errors = [e.message for e in (batch.errors.data if batch.errors else [])][:3]
        raise PlaitError(f"Batch {batch.id} ended {batch.status}{': ' + '; '.join(errors) if errors else ''}. "
                         f"Remove {saved} to submit a new batch.")
    found = _results(client, batch.output_file_id) | _results(client, batch.error_file_id)
    with out.open("w", encoding="utf-8") as sink:
        for row in rows():
            key = row_key(row[0], row[1])
            usage = (((found.get(key) or {}).get("response") or {}).get("body") or {}).get("usage") or {}
            report.usage[0] += usage.get("prompt_tokens", 0)
            report.usage[1] += usage.get("completion_tokens", 0)
            result = _outcome(found.get(key), parse, batch.status)
            line = output_line(row, result, record, failed or {}, report, no_result="not understood")
            sink.write(json.dumps(line, ensure_ascii=False) + "\n")
    saved.unlink()
    report.seconds = time.perf_counter() - started
    return report
