"""Compare two stored runs: metrics side by side, a bootstrap interval, the items that regressed.

Example:
    >>> result = compare(store, "baseline", "v2")  # doctest: +SKIP
    >>> result["ci"]["low"] > 0  # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
import random
import statistics
from typing import Any

from plait.evaluate.metrics import METRICS, classification_report
from plait.evaluate.runner import CORPUS_METRICS
from plait.evaluate.store import RunStore

LOWER_IS_BETTER = {"latency_ms", "tokens", "errors", "mae"}


def compare(store: RunStore, a: int | str, b: int | str, *, resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Compare run ``a`` (baseline) with run ``b`` on the items both finished.

    The main metric is the first metric of run ``a``; its difference gets a paired bootstrap
    confidence interval (95%) over those items.
    """
    run_a, run_b = store.get(a), store.get(b)
    items_a = {i["item_id"]: i for i in store.items(run_a["id"])}
    items_b = {i["item_id"]: i for i in store.items(run_b["id"])}
    common = [k for k in items_a if k in items_b]
    names = list(dict.fromkeys([*run_a["metrics"], *run_b["metrics"]]))
    metrics = [{"name": n, "a": run_a["metrics"].get(n), "b": run_b["metrics"].get(n),
                "diff": _diff(run_a["metrics"].get(n), run_b["metrics"].get(n)),
                "higher_is_better": _higher_is_better(n)} for n in names]
    main = (run_a["config"].get("metrics") or names)[0]
    pairs = [(items_a[k], items_b[k]) for k in common]
    score_a = [_item_score(x, main) for x, _ in pairs]
    score_b = [_item_score(y, main) for _, y in pairs]
    moved = [(x, y) for (x, y), sa, sb in zip(pairs, score_a, score_b) if None not in (sa, sb) and sa != sb]
    worse = [(x, y) for x, y in moved if _item_score(y, main) < _item_score(x, main)]
    better = [(x, y) for x, y in moved if _item_score(y, main) > _item_score(x, main)]
    return {"a": _summary(run_a), "b": _summary(run_b), "metrics": metrics, "main_metric": main,
            "ci": _bootstrap(pairs, main, resamples, seed), "common_items": len(common),
            "regressed": [_row(x, y) for x, y in worse], "improved": [_row(x, y) for x, y in better]}


def _diff(a: Any, b: Any) -> float | None:
    return b - a if isinstance(a, (int, float)) and isinstance(b, (int, float)) else None


def _higher_is_better(name: str) -> bool:
    if name in METRICS:
        return METRICS[name].higher_is_better
    return name not in LOWER_IS_BETTER


def _item_score(row: dict[str, Any], metric: str) -> float | None:
    if metric in CORPUS_METRICS:  # per item, a classification is right or wrong
        return None if row["expected"] is None else float(str(row["prediction"]) == str(row["expected"]))
    return row["scores"].get(metric)


def _corpus(rows: list[dict[str, Any]], metric: str) -> float:
    return classification_report([str(r["expected"]) for r in rows],
                                 [None if r["prediction"] is None else str(r["prediction"]) for r in rows])[metric]


def _bootstrap(pairs: list[tuple[dict, dict]], metric: str, resamples: int, seed: int) -> dict[str, Any] | None:
    """Paired bootstrap: resample items, recompute the metric on both runs, take the 2.5/97.5 percentiles."""
    if metric in CORPUS_METRICS:
        pairs = [(x, y) for x, y in pairs if x["expected"] is not None]
        stat = lambda ps: _corpus([y for _, y in ps], metric) - _corpus([x for x, _ in ps], metric)  # noqa: E731
    else:
        pairs = [(x, y) for x, y in pairs if None not in (_item_score(x, metric), _item_score(y, metric))]
        stat = lambda ps: statistics.fmean(_item_score(y, metric) - _item_score(x, metric) for x, y in ps)  # noqa: E731
    if len(pairs) < 2:
        return None
    rng = random.Random(seed)
    draws = sorted(stat(rng.choices(pairs, k=len(pairs))) for _ in range(resamples))
    return {"metric": metric, "diff": stat(pairs), "low": draws[int(0.025 * resamples)],
            "high": draws[min(resamples - 1, int(0.975 * resamples))], "level": 0.95, "resamples": resamples}


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    report = run.get("report") or {}
    confusion = {"labels": report["labels"], "matrix": report["confusion"]} if report.get("confusion") else None
    return {"id": str(run["name"] or run["id"]), "target": run["target"], "prompts": run["prompts"],
            "models": run["models"], "dataset": run["dataset"], "dataset_hash": run["dataset_hash"], "n": run["n"],
            "created": run["created"], "metrics": run["metrics"], "confusion": confusion,
            "latency_ms_mean": run["metrics"].get("latency_ms"), "tokens_mean": run["metrics"].get("tokens")}


def _row(x: dict[str, Any], y: dict[str, Any]) -> dict[str, Any]:
    return {"item_id": x["item_id"], "input": _text(x["input"]), "expected": _text(x["expected"]),
            "a": _text(x["prediction"] if x["error"] is None else x["error"]),
            "b": _text(y["prediction"] if y["error"] is None else y["error"])}


def _text(value: Any) -> str:
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
    return value if isinstance(value, str) else json.dumps(value, default=str)
