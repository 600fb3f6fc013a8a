"""BANKING77 splits for benchmarks and real-model checks (data: ../shared/data/banking77, CC BY 4.0).

The 300 evaluation rows are carved stratified with a fixed seed; example pools never contain them.
"""

from __future__ import annotations

import csv
import os
import random
from collections import defaultdict
from pathlib import Path

# The shared folder beside the checkout (CI clones with a copy of it beside); PLAIT_BANKING77 overrides.
DATA = Path(os.environ.get("PLAIT_BANKING77") or Path(__file__).resolve().parents[1].parent / "shared/data/banking77")


def load_rows(path: Path | None = None) -> list[tuple[str, str]]:
    """Return (text, category) rows of the training split."""
    with open(path or DATA / "train.csv", newline="", encoding="utf-8") as f:
        return [(row["text"], row["category"]) for row in csv.DictReader(f)]


def carve(n_eval: int = 300, *, per_label_pool: int = 10, seed: int = 0) -> tuple[list, list, list[str]]:
    """Return (eval_rows, pool_rows, labels): eval stratified over labels, pool disjoint from it."""
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in load_rows():
        by_label[label].append(text)
    labels = sorted(by_label)
    rng = random.Random(seed)
    for texts in by_label.values():
        rng.shuffle(texts)
    eval_rows = []
    i = 0
    while len(eval_rows) < n_eval:  # round-robin over labels: stratified
        label = labels[i % len(labels)]
        eval_rows.append((by_label[label][i // len(labels)], label))
        i += 1
    taken = {text for text, _ in eval_rows}
    pool = [(t, label) for label in labels for t in [x for x in by_label[label] if x not in taken][:per_label_pool]]
    rng.shuffle(eval_rows)
    return eval_rows, pool, labels
