"""Batch prompting on 300 BANKING77 rows with the local model: b = 1, 2, 4, 8.

For each b: prompt+completion tokens per item, seconds per item, accuracy. Beside them, the
one-per-prompt classifier (the `classifier()` node, k similar examples) with llama.cpp prefix
caching on (plait's default: the shared label list is never recomputed) and off, so the token
saving of batching is set against what caching already saves in time.

    .venv/bin/python benchmarks/batch_prompting.py [--rows 300] [--k 8]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402
from banking77 import carve  # noqa: E402

from plait.chains import batch_classifier, classifier  # noqa: E402
from plait.config import Settings  # noqa: E402
from plait.models import resolve_model  # noqa: E402


def score(results, rows, seconds) -> dict:
    n = len(rows)
    correct = sum(r.label == label for r, (_, label) in zip(results, rows))
    tokens = sum(r.input_tokens + r.output_tokens for r in results)
    return {"items": n, "accuracy": round(correct / n, 4), "tokens_per_item": round(tokens / n, 1),
            "seconds_per_item": round(seconds / n, 3)}


def run_single(llm, labels, pool, rows, k, *, cache: bool) -> dict:
    node = classifier(labels, model=llm, examples=pool, k=k)
    llama = llm.loaded().llama
    started, results = time.perf_counter(), []
    for text, _ in rows:
        if not cache:
            llama.n_tokens = 0  # forget the KV cache: every prompt is computed from scratch
        results.append(node.invoke(text))
    return score(results, rows, time.perf_counter() - started)


def run_batch(llm, labels, pool, rows, k, b) -> dict:
    node = batch_classifier(labels, model=llm, examples=pool, k=k, batch_size=b)
    started = time.perf_counter()
    results = node.invoke([text for text, _ in rows])
    return score(results, rows, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--k", type=int, default=8, help="similar examples per prompt")
    parser.add_argument("--no-cache-rows", type=int, default=100, help="rows for the cache-off baseline")
    args = parser.parse_args()
    rows, pool, labels = carve(args.rows, per_label_pool=10)
    llm = resolve_model(settings=Settings(tracing=False))
    started = time.perf_counter()
    runs = {"one_per_prompt_cached": run_single(llm, labels, pool, rows, args.k, cache=True),
            "one_per_prompt_uncached": run_single(llm, labels, pool, rows[: args.no_cache_rows], args.k, cache=False)}
    for b in (1, 2, 4, 8):
        runs[f"batch_b{b}"] = run_batch(llm, labels, pool, rows, args.k, b)
        print(b, runs[f"batch_b{b}"], flush=True)
    b1, b4 = runs["batch_b1"], runs["batch_b4"]
    write("batch_prompting", {
        "data": f"BANKING77, {args.rows} stratified rows (seed 0), pool 10/intent disjoint from them, k={args.k}",
        "model": "local:gemma-3-270m", "runs": runs,
        "b4_token_reduction_vs_b1": round(b1["tokens_per_item"] / b4["tokens_per_item"], 2),
        "b4_accuracy_minus_b1_points": round((b4["accuracy"] - b1["accuracy"]) * 100, 1),
        "goal": "b=4: >= 3x fewer tokens per item than b=1, accuracy within 2 points",
        "seconds": round(time.perf_counter() - started, 1),
    })


if __name__ == "__main__":
    main()
