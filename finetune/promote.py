"""Swap and gate: bind a role to an adapter only when it beats the current binding; roll back.

``promote("banking-head", role="classifier", data=validation)`` evaluates the role's current
model and the adapter on the same validation items with the evaluation harness, writes
``classifier = "lora:banking-head"`` under ``[models]`` in ``plait.toml`` if the adapter wins
(or ``force``), and records the previous binding in ``<home>/promotions.json`` for
:func:`rollback`.

Example:
    >>> result = promote("banking-head", role="classifier", data=validation)  # doctest: +SKIP
    >>> result.promoted, result.before, result.after  # doctest: +SKIP
    (True, 0.72, 0.88)
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from plait.config import DEFAULT_MODEL, config_path, load_settings
from plait.errors import PlaitError
from plait.evaluate import Dataset, Item, evaluate, target
from plait.evaluate.store import RunStore
from plait.finetune.store import load_info

HISTORY = "promotions.json"
GENERAL_QUESTIONS = (("What is the capital of France?", r"paris"), ("How many days are in a week?", r"seven|\b7\b"),
                     ("What colour is the sky on a clear day?", r"blue"), ("What is two plus two?", r"four|\b4\b"),
                     ("Which animal says woof?", r"dog"))
"""General prompts with a keyword a sensible answer contains: the forgetting check."""


@dataclass(frozen=True)
class Promotion:
    """The outcome of :func:`promote`."""

    role: str
    adapter: str
    previous: str | None
    before: float | None
    """The current binding's score on the validation items (None when ``force`` skipped the gate)."""
    after: float | None
    promoted: bool
    reason: str


def dataset_from_examples(examples: Sequence[dict[str, Any]], *, source: str = "examples") -> Dataset:
    """Classification items from chat examples: the last user message's text and the answer."""
    items = []
    for i, example in enumerate(examples):
        user = [m for m in example["messages"] if m["role"] == "user"][-1]["content"]
        text = user.split("Text: ", 1)[1] if "Text: " in user else user
        items.append(Item(id=str(i), inputs={"text": text}, expected=example["messages"][-1]["content"]))
    return Dataset(tuple(items), source)


def promote(name: str, *, role: str, data: Dataset | None = None, force: bool = False,
            examples: Sequence[tuple[str, str]] = (), k: int = 8, metric: str = "accuracy",
            progress: bool = True) -> Promotion:
    """Bind ``role`` to ``lora:NAME`` if it beats the current binding on ``data`` (or ``force``)."""
    info = load_info(name)
    settings = load_settings()
    previous = settings.model_for(role)
    candidate = f"lora:{name}"
    if previous == candidate:
        raise PlaitError(f"Role {role!r} is bound to {candidate} already.")
    before = after = None
    if not force:
        if data is None or not len(data):
            raise PlaitError("Promotion is gated on validation data: pass --data (the validation split from "
                             "`plait finetune prepare`), or --force to skip the gate.")
        if info.task.get("kind") != "classification":
            raise PlaitError(f"Adapter {name} has no gate for task {info.task.get('kind')!r} yet; use --force.")
        store = RunStore(settings.home / "evals.db")
        labels = sorted({*data.labels(), *info.task.get("labels", [])})
        current = previous or settings.model_for("default") or DEFAULT_MODEL
        runs = [evaluate(target("classify", data, model=ref, labels=labels, examples=list(shots), k=k if shots else None),
                         data, store=store, metrics=[metric], progress=progress,
                         record={"model": ref, "gate": f"promote {name} -> {role}"})
                for ref, shots in ((current, examples), (candidate, ()))]
        before, after = runs[0]["metrics"][metric], runs[1]["metrics"][metric]
        if after <= before:
            return Promotion(role, name, previous, before, after, False,
                             f"{candidate} scored {after:.3f} {metric}, not above {current}'s {before:.3f}; "
                             "kept the current binding (--force overrides).")
    bind(role, candidate)
    _record(settings.home, {"role": role, "previous": previous, "new": candidate,
                            "before": before, "after": after, "at": _now()})
    reason = "forced" if force else f"{after:.3f} > {before:.3f} {metric}"
    return Promotion(role, name, previous, before, after, True, reason)


def rollback(role: str) -> tuple[str, str | None]:
    """Restore the binding ``role`` had before its last promotion; return (removed, restored)."""
    home = load_settings().home
    history = _history(home)
    last = next((h for h in reversed(history) if h["role"] == role), None)
    if last is None:
        raise PlaitError(f"No promotion of role {role!r} to roll back ({home / HISTORY}).")
    bind(role, last["previous"])
    history.remove(last)
    (home / HISTORY).write_text(json.dumps(history, indent=2), encoding="utf-8")
    return last["new"], last["previous"]


def bind(role: str, ref: str | None, path: Path | None = None) -> Path:
    """Set (or with None remove) ``role = "ref"`` under ``[models]`` in plait.toml, keeping the rest as is."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", role):
        raise PlaitError(f"Role name {role!r} is not a valid TOML key; use letters, digits, '_' or '-'.")
    path = path or config_path()
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    start = next((i for i, line in enumerate(lines) if line.strip() == "[models]"), None)
    entry = [f'{role} = "{ref}"'] if ref else []
    if start is None:
        lines += ([""] if lines else []) + ["[models]", *entry]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
        key = re.compile(rf"^\s*{re.escape(role)}\s*=")
        found = next((i for i in range(start + 1, end) if key.match(lines[i])), None)
        if found is None:
            lines[start + 1:start + 1] = entry
        else:
            lines[found:found + 1] = entry
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    load_settings(path)  # refuse to leave a file plait cannot read
    return path


def forgetting_check(before: str, after: str, *, questions: Sequence[tuple[str, str]] = GENERAL_QUESTIONS) -> dict[str, Any]:
    """Ask general questions through ``before`` and ``after`` (model references); compare the answers."""
    from plait.models import resolve_model
    from plait.prompts import ASK, ASK_STOP

    results: dict[str, Any] = {"questions": []}
    hits = {"before": 0, "after": 0}
    for question, keyword in questions:
        row: dict[str, Any] = {"question": question}
        for side, ref in (("before", before), ("after", after)):
            messages = ASK.template.invoke({"question": question}).to_messages()
            answer = str(resolve_model(ref, max_tokens=32).invoke(messages, stop=ASK_STOP).content).strip()
            row[side] = answer
            hits[side] += bool(re.search(keyword, answer, re.IGNORECASE))
        results["questions"].append(row)
    results.update(before_score=hits["before"] / len(questions), after_score=hits["after"] / len(questions))
    return results


def _history(home: Path) -> list[dict[str, Any]]:
    path = home / HISTORY
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def _record(home: Path, entry: dict[str, Any]) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / HISTORY).write_text(json.dumps([*_history(home), entry], indent=2), encoding="utf-8")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
