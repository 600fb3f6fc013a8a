"""Run a target over a dataset, score every item, and store the run; resumable after an interruption.

Example:
    >>> from plait.evaluate import evaluate, load_dataset, target  # doctest: +SKIP
    >>> data = load_dataset("eval.csv")  # doctest: +SKIP
    >>> run = evaluate(target("classify", data, examples=pool, k=8), data)  # doctest: +SKIP
    >>> run["metrics"]["accuracy"]  # doctest: +SKIP
    0.73
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from plait.bulk import BulkOptions, rate_limit_wait
from plait.config import load_settings
from plait.errors import PlaitError
from plait.evaluate.datasets import Dataset
from plait.evaluate.metrics import Metric, classification_report, metric_from
from plait.evaluate.store import RunStore
from plait.evaluate.targets import Target, plain, prediction
from plait.evaluate.types import Case, Item

CORPUS_METRICS = ("accuracy", "macro_f1")
"""Metrics computed over the whole run rather than averaged per item."""
DEFAULT_METRICS = {"classification": ["accuracy", "macro_f1"], "agent": ["accuracy", "macro_f1"],
                   "rag": ["context_recall", "citation_validity"],
                   "generation": ["exact_match", "normalized_match", "rouge_l"]}


def default_store() -> RunStore:
    """The run database under plait's home (``.plait/evals.db`` by default)."""
    return RunStore(Path(load_settings().home) / "evals.db")


def evaluate(tgt: Target, data: Dataset, *, metrics: Sequence[str | Metric | Callable] | None = None,
             store: RunStore | None = None, name: str | None = None, concurrency: int = 1,
             resume: int | str | None = None, record: dict[str, Any] | None = None,
             progress: bool = True) -> dict[str, Any]:
    """Run ``tgt`` on every item of ``data``, score it, store the run and return its record.

    ``metrics`` are names, ``module:function`` specs, :class:`Metric` objects or plain
    functions (default: by target kind). ``resume`` continues a stored run, redoing only
    items it has not finished. ``record`` adds fields to the stored config (model, prompt).
    """
    store = store or default_store()
    chosen = list(metrics) if metrics else list(tgt.metrics) or DEFAULT_METRICS[tgt.kind]
    corpus = [m for m in chosen if isinstance(m, str) and m in CORPUS_METRICS]
    item_metrics = [metric_from(m) for m in chosen if not (isinstance(m, str) and m in CORPUS_METRICS)]
    names = corpus + [m.name for m in item_metrics]
    run_id, done = _open_run(store, tgt, data, names, name, resume, {"concurrency": concurrency, **(record or {})})
    todo = [(pos, item) for pos, item in enumerate(data.items) if item.id not in done]
    chunks = [todo[i:i + tgt.chunk] for i in range(0, len(todo), tgt.chunk)]
    seen: dict[str, set[str]] = {"prompts": set(), "models": set()}
    try:
        _run_chunks(store, run_id, tgt, chunks, item_metrics, seen, concurrency, len(data), len(done), progress)
    except BaseException:
        store.update(run_id, status="interrupted")
        raise
    return finish(store, run_id, names, seen)


def _open_run(store: RunStore, tgt: Target, data: Dataset, names: list[str], name: str | None,
              resume: int | str | None, config: dict[str, Any]) -> tuple[int, set[str]]:
    if resume is None:
        run_id = store.create(target=tgt.spec, dataset=data.source, dataset_hash=data.hash, n=len(data),
                              config={"metrics": names, "batch_size": tgt.chunk, **config}, name=name)
        return run_id, set()
    run = store.get(resume)
    if run["dataset_hash"] != data.hash or run["target"] != tgt.spec:
        raise PlaitError(f"Run {resume} evaluated {run['target']} on dataset {run['dataset_hash']}; this is "
                         f"{tgt.spec} on {data.hash}. Resume with the same target and data, or start a new run.")
    store.update(run["id"], status="running")
    return run["id"], {row["item_id"] for row in store.items(run["id"]) if row["error"] is None}


def _run_chunks(store: RunStore, run_id: int, tgt: Target, chunks: list[list[tuple[int, Item]]],
                item_metrics: list[Metric], seen: dict[str, set[str]], concurrency: int, total: int,
                already: int, progress: bool) -> None:
    columns = (TextColumn(f"evaluating {tgt.spec}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), disable=not progress) as bar, \
            ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="plait-eval") as pool:
        task = bar.add_task("items", total=total, completed=already)
        pending: set[Future] = set()
        queue = iter(chunks)
        try:
            while True:
                while len(pending) < max(1, concurrency) * 2:  # bounded: an interrupt loses little work
                    chunk = next(queue, None)
                    if chunk is None:
                        break
                    pending.add(pool.submit(_run_chunk, tgt, chunk, item_metrics))
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                # Store every chunk that succeeded before raising a failure (Ctrl-C in a target,
                # say): a set has no order, and finished work must survive the interrupt.
                failures = [f.exception() for f in finished if f.exception() is not None]
                for future in finished:
                    if future.exception() is not None:
                        continue
                    rows, usage = future.result()
                    for row in rows:
                        store.add_item(run_id, row)
                    seen["prompts"] |= usage.prompts
                    seen["models"] |= usage.models
                    bar.advance(task, len(rows))
                if failures:
                    raise failures[0]
        finally:
            for future in pending:
                future.cancel()


def _run_chunk(tgt: Target, chunk: list[tuple[int, Item]], item_metrics: list[Metric]) -> tuple[list[dict], "_Usage"]:
    usage = _Usage()
    started = time.perf_counter()
    outputs = _rate_limited(lambda: tgt.call([tgt.to_input(item.inputs) for _, item in chunk],
                                             {"callbacks": [usage], "max_concurrency": 1}))
    latency = (time.perf_counter() - started) * 1000 / len(chunk)
    rows = []
    for (position, item), output in zip(chunk, outputs):
        row = {"item_id": item.id, "position": position, "input": item.inputs, "expected": item.expected,
               "latency_ms": round(latency, 2)}
        if isinstance(output, BaseException):
            rows.append({**row, "error": f"{type(output).__name__}: {output}", "scores": {}})
            continue
        case = Case(item, prediction(output), plain(output))
        own = (case.output.get("input_tokens") or 0) + (case.output.get("output_tokens") or 0)
        rows.append({**row, "prediction": case.prediction, "output": case.output, "error": None,
                     "tokens": own or round(usage.tokens / len(chunk)),
                     "scores": {m.name: m.score(case) for m in item_metrics}})
    return rows, usage


def _rate_limited(call: Any, options: BulkOptions = BulkOptions(), sleep: Any = time.sleep) -> list[Any]:
    """``call()``'s outputs, called again (bounded backoff, as bulk jobs do) while one of them is an HTTP 429."""
    for attempt in range(options.retries + 1):
        outputs = call()
        waits = [w for w in (rate_limit_wait(o, attempt, options) for o in outputs if isinstance(o, BaseException))
                 if w is not None]
        if not waits or attempt == options.retries:
            return outputs
        sleep(max(waits))
    return outputs


def finish(store: RunStore, run_id: int, names: Sequence[str], seen: dict[str, set[str]] | None = None) -> dict[str, Any]:
    """Aggregate a run's stored items into its metrics and mark it done."""
    run = store.get(run_id)
    items = store.items(run_id)
    metrics: dict[str, Any] = {}
    report: dict[str, Any] = {}
    if any(n in CORPUS_METRICS for n in names):
        scored = [i for i in items if i["expected"] is not None]
        if scored:
            report = classification_report([str(i["expected"]) for i in scored],
                                           [None if i["prediction"] is None else str(i["prediction"]) for i in scored])
            metrics.update({n: report[n] for n in names if n in CORPUS_METRICS})
    for n in names:
        if n not in CORPUS_METRICS:
            values = [i["scores"].get(n) for i in items if i["scores"].get(n) is not None]
            metrics[n] = statistics.fmean(values) if values else None
    latencies = [i["latency_ms"] for i in items if i["latency_ms"] is not None]
    tokens = [i["tokens"] for i in items if i["tokens"] is not None]
    metrics.update(latency_ms=statistics.fmean(latencies) if latencies else None,
                   tokens=statistics.fmean(tokens) if tokens else None,
                   errors=sum(i["error"] is not None for i in items), completed=len(items))
    seen = seen or {}
    store.update(run_id, status="done" if len(items) >= run["n"] else "partial", metrics=metrics, report=report,
                 prompts=sorted(set(run["prompts"]) | seen.get("prompts", set())),
                 models=sorted(set(run["models"]) | seen.get("models", set())))
    return store.get(run_id)


class _Usage(BaseCallbackHandler):
    """Tokens, prompt versions and model references of the calls made for one chunk."""

    def __init__(self) -> None:
        self.tokens = 0
        self.prompts: set[str] = set()
        self.models: set[str] = set()
        self._lock = threading.Lock()

    def on_chat_model_start(self, serialized: dict[str, Any], messages: list, *, run_id: UUID,
                            metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        meta = metadata or {}
        with self._lock:
            if meta.get("plait_prompt"):
                self.prompts.add(meta["plait_prompt"])
            ref = meta.get("plait_model_ref") or meta.get("ls_model_name")
            if ref:
                self.models.add(str(ref))

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        message = getattr(response.generations[0][0], "message", None) if response.generations else None
        usage = getattr(message, "usage_metadata", None) or {}
        with self._lock:
            self.tokens += usage.get("total_tokens") or 0
