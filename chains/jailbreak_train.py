"""Rebuild the packaged jailbreak head from PyRIT's templates and plait's own messages.

    pip install --no-deps pyrit==1.1.0            # only its data files are read; nothing is imported
    python -m plait.chains.jailbreak_train        # about 5 minutes on 2 CPU cores

Attacks: PyRIT's ~655 jailbreak templates (MIT; read from the installed package, never copied
into this repository) grouped into **families** (the same name stem, ``dan_1``/``dan_11``, or
near-duplicate text, cosine >= :data:`SAME_FAMILY` between MiniLM embeddings of their openings),
and a fixed :data:`HELD_OUT` share of families kept out of training for the benchmark
(``benchmarks/moderation.py``); each training template is filled with goals from
``chains/data/jailbreak_goals.jsonl``; plus plait's own short injections
(``chains/data/injections_train.jsonl``). Ordinary messages: ``chains/data/moderation_benign.jsonl``
(benign text that mentions instructions, systems, roles, passwords, refunds), the support
routing set, the ``ok`` rows of ``moderation.jsonl``, long benign texts stitched from those, and
the first :data:`BANKING_TRAIN` rows of BANKING77's training split in a fixed shuffle (the rest
stay unseen for the false-positive benchmark; read from ``../shared/data/banking77`` or
``--banking77 PATH``).

Every window of a text is a training example; thresholds come from out-of-fold scores (5 folds
grouped by family): ``block`` where no ordinary message was blocked, ``flag`` where at most
:data:`FLAG_RATE` were flagged.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from plait.chains.jailbreak import HEAD, _sigmoid, windows
from plait.errors import PlaitError
from plait.records import read_records

DATA = Path(__file__).parent / "data"
SAME_FAMILY = 0.9
HELD_OUT = 0.3
"""Share of template families never trained on (the benchmark's held-out families)."""
BANKING_TRAIN = 3000
FLAG_RATE = 0.005
FILLS = 3
"""Goals filled into each training template."""
_SLOT = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass(frozen=True)
class Template:
    """One PyRIT jailbreak template."""

    name: str
    """Path under PyRIT's templates folder, e.g. ``in_the_wild/trustairlab_0011.yaml``."""
    text: str
    family: str = ""


def pyrit_templates() -> list[Template]:
    """Every jailbreak template of the installed PyRIT package (read as files; PyRIT is not imported)."""
    import yaml

    spec = importlib.util.find_spec("pyrit")
    if spec is None or not spec.submodule_search_locations:
        raise PlaitError("PyRIT is not installed: `pip install --no-deps pyrit==1.1.0` (its templates are data; "
                         "nothing of it is imported).")
    root = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "jailbreak" / "templates"
    found = []
    for path in sorted(root.rglob("*.yaml")):
        value = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("value")
        if isinstance(value, str) and _SLOT.search(value):
            found.append(Template(str(path.relative_to(root)), value))
    return found


def _stem(name: str) -> str:
    stem = Path(name).stem
    folder = str(Path(name).parent)
    if folder.startswith("pliny"):
        return "pliny"
    return re.sub(r"(_?\d+|_compact|_ranti|_nesting)$", "", stem) if folder == "." else f"{folder}/{stem}"


def with_families(templates: list[Template]) -> list[Template]:
    """Group templates into families: a shared name stem, or near-duplicate openings (union-find)."""
    from plait.retrieval.embeddings import local_embeddings

    parent = list(range(len(templates)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_stem: dict[str, int] = {}
    for i, t in enumerate(templates):
        parent[find(i)] = find(by_stem.setdefault(_stem(t.name), i))
    vectors = local_embeddings().encode([" ".join(t.text.split()[:150]) for t in templates])
    close = np.argwhere(np.triu(vectors @ vectors.T, 1) >= SAME_FAMILY)
    for i, j in close:
        parent[find(int(i))] = find(int(j))
    return [Template(t.name, t.text, templates[find(i)].name) for i, t in enumerate(templates)]


def held_out(family: str) -> bool:
    """Whether a family is kept out of training (a fixed hash, so the split never moves)."""
    return int(hashlib.sha256(family.encode()).hexdigest(), 16) % 1000 < HELD_OUT * 1000


def fill(template: Template, goal: str) -> str:
    return _SLOT.sub(lambda m: goal if m.group(1).startswith("prompt") else "people I dislike", template.text)


def _rows(path: Path, field: str) -> list[str]:
    return [str(row[field]) for _, row in read_records(path, format="jsonl") if str(row.get(field, "")).strip()]


def banking77(path: Path) -> list[str]:
    """BANKING77 training texts in a fixed shuffle (the first BANKING_TRAIN are trained on)."""
    files = sorted(path.glob("*.csv")) + sorted(path.glob("*.jsonl"))
    if not files:
        raise PlaitError(f"No BANKING77 CSV/JSONL in {path}; pass --banking77 FOLDER.")
    texts = [str(row.get("text")) for f in files for _, row in read_records(f) if row.get("text")]
    random.Random(77).shuffle(texts)
    return texts


def _benign(banking: list[str]) -> list[str]:
    own = _rows(DATA / "moderation_benign.jsonl", "text")
    own += [str(row["text"]) for _, row in read_records(DATA / "moderation.jsonl", format="jsonl")
            if row.get("label") == "ok"]
    routes = Path(__file__).parent.parent / "agents" / "data" / "support_routes.jsonl"
    if routes.is_file():  # the support assistant's messages (a data file, read as data: no import upward)
        own += _rows(routes, "text")
    rng = random.Random(5)
    stitched = [" ".join(rng.sample(own, rng.randint(6, 14))) for _ in range(150)]  # long, ordinary emails
    return own + stitched + banking[:BANKING_TRAIN]


def examples(templates: list[Template], goals: list[str], injections: list[str],
             benign: list[str]) -> Iterator[tuple[str, int, str]]:
    """(window text, 1 attack / 0 ordinary, group) for every window of every training text."""
    rng = random.Random(0)
    for t in templates:
        for goal in rng.sample(goals, FILLS):
            for part in windows(fill(t, goal)):
                yield part, 1, t.family
    for i, text in enumerate(injections):
        yield text, 1, f"injection-{i % 20}"
    for i, text in enumerate(benign):
        for part in windows(text):
            yield part, 0, f"ordinary-{i % 20}"


def _fit(vectors: Any, labels: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(vectors, labels)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def train(*, banking77_path: Path, out: Path = HEAD, c: float = 4.0, char_c: float = 10.0) -> dict[str, Any]:
    """Build the data, fit the head, choose thresholds out of fold, write ``out`` and its ``.json``."""
    from sklearn.model_selection import GroupKFold

    from plait.retrieval.embeddings import char_ngrams, local_embeddings

    started = time.perf_counter()
    families = with_families(pyrit_templates())
    training = [t for t in families if not held_out(t.family)]
    goals = _rows(DATA / "jailbreak_goals.jsonl", "goal")
    rows = list(examples(training, goals, _rows(DATA / "injections_train.jsonl", "text"),
                         _benign(banking77(banking77_path))))
    texts, labels, groups = [r[0] for r in rows], np.array([r[1] for r in rows]), [r[2] for r in rows]
    vectors, grams = local_embeddings().encode(texts, progress=True), char_ngrams(texts)
    oof = np.zeros(len(texts))
    for fit_on, score_on in GroupKFold(5).split(vectors, labels, groups):
        coef, b = _fit(vectors[fit_on], labels[fit_on], c)
        char_coef, char_b = _fit(grams[fit_on], labels[fit_on], char_c)
        oof[score_on] = (_sigmoid(vectors[score_on] @ coef + b) +
                         _sigmoid(np.asarray(grams[score_on] @ char_coef).ravel() + char_b)) / 2
    ordinary = np.sort(oof[labels == 0])
    block = float(min(0.99, ordinary[-1] + 0.01))  # above every ordinary window seen out of fold
    flag = float(min(block, ordinary[int(len(ordinary) * (1 - FLAG_RATE))] + 1e-3))
    coef, b = _fit(vectors, labels, c)
    char_coef, char_b = _fit(grams, labels, char_c)
    np.savez(out, coef=coef, intercept=b, char_coef=char_coef.astype(np.float16), char_intercept=char_b)
    meta = {"thresholds": {"flag": round(flag, 4), "block": round(block, 4)},
            "built_by": "python -m plait.chains.jailbreak_train", "pyrit": _pyrit_version(),
            "templates": len(families), "families": len({t.family for t in families}),
            "training_families": sorted({t.family for t in training}),
            "windows": {"attack": int(labels.sum()), "ordinary": int((labels == 0).sum())},
            "banking77_rows_trained": BANKING_TRAIN, "c": c, "char_c": char_c,
            "out_of_fold": {"attack_windows_blocked": round(float((oof[labels == 1] >= block).mean()), 4),
                            "attack_windows_flagged": round(float((oof[labels == 1] >= flag).mean()), 4)},
            "seconds": round(time.perf_counter() - started, 1)}
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return meta


def _pyrit_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyrit")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Rebuild the packaged jailbreak head (needs PyRIT's files).")
    parser.add_argument("--banking77", type=Path, default=Path("../shared/data/banking77"),
                        help="folder with BANKING77's training split (CSV or JSONL); default: beside the checkout")
    args = parser.parse_args()
    result = train(banking77_path=args.banking77)
    print(json.dumps({k: v for k, v in result.items() if k != "training_families"}, indent=1))
