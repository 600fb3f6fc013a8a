"""Adapting a classification node on BANKING77: few-shot base model vs embedding heads vs LoRA.

Training data: 20 examples per intent (1,540) from the shared training split; evaluation: 300
held-out rows of the same split (stratified, seed 0, disjoint from the training examples).
Each method's held-out accuracy is measured through plait's evaluation harness with the
node a user would run, and reported with its training time on this machine.

    .venv/bin/python benchmarks/finetune_banking77.py [--methods fewshot,logreg,setfit,lora] [--lora-epochs 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402
from banking77 import carve  # noqa: E402

from plait.evaluate import Dataset, Item, RunStore, evaluate, target  # noqa: E402


def held_out(rows: list[tuple[str, str]]) -> Dataset:
    return Dataset(tuple(Item(str(i), {"text": t}, label) for i, (t, label) in enumerate(rows)), "banking77 held-out 300")


def accuracy(store: RunStore, data: Dataset, labels: list[str], model: str, **options) -> dict:
    started = time.perf_counter()
    run = evaluate(target("classify", data, model=model, labels=labels, **options), data, store=store, progress=True,
                   record={"model": model})
    seconds = time.perf_counter() - started
    return {"accuracy": round(run["metrics"]["accuracy"], 4), "macro_f1": round(run["metrics"]["macro_f1"], 4),
            "seconds_per_item": round(seconds / len(data), 3), "run": run["id"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="fewshot,logreg,setfit,lora")
    parser.add_argument("--lora-epochs", type=int, default=3)
    args = parser.parse_args()
    methods = args.methods.split(",")
    eval_rows, pool, labels = carve(300, per_label_pool=20)
    data = held_out(eval_rows)
    texts, gold = [t for t, _ in pool], [label for _, label in pool]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as home:
        import os

        os.environ["PLAIT_HOME"] = home  # adapters and runs of this benchmark only
        store = RunStore(Path(home) / "evals.db")
        if "fewshot" in methods:
            results["fewshot_k8"] = {"train_seconds": 0, **accuracy(store, data, labels, "local:gemma-3-270m",
                                                                     examples=pool, k=8)}
        for method in ("logreg", "setfit"):
            if method in methods:
                from plait.finetune.head import train_head

                info = train_head(f"b77-{method}", texts, gold, method=method)
                results[f"head_{method}"] = {"train_seconds": info.metrics["train_seconds"],
                                             **accuracy(store, data, labels, f"lora:b77-{method}")}
        if "lora" in methods:
            results["lora"] = run_lora(store, data, labels, pool, args.lora_epochs)
    write("finetune_banking77", {"train_examples": len(pool), "per_intent": 20, "eval_rows": len(data),
                                 "labels": len(labels), "results": results,
                                 "goals": "LoRA >= 0.85 in <= 20 min training; best adapted node >= 0.90"})


def run_lora(store: RunStore, data: Dataset, labels: list[str], pool: list[tuple[str, str]], epochs: int) -> dict:
    from plait.finetune import lora
    from plait.finetune.data import classification_examples, prompt_task, split_examples

    examples = classification_examples(pool)
    parts = split_examples(examples, fractions=(0.9, 0.1, 0.0), seed=0)
    info = lora.train("b77-lora", parts["train"], validation=parts["validation"],
                      options=lora.TrainOptions(epochs=epochs),
                      task={"kind": "classification", "labels": labels, **prompt_task()})
    return {"train_seconds": info.metrics.get("train_seconds"), "epochs_run": info.metrics.get("epochs_run"),
            "tokens_per_second": info.metrics.get("tokens_per_second"),
            **accuracy(store, data, labels, "lora:b77-lora")}


if __name__ == "__main__":
    main()
