"""Evaluation datasets from CSV, JSONL or JSON: input fields, an expected output, optional metadata.

Example:
    >>> from plait.evaluate import load_dataset, split  # doctest: +SKIP
    >>> data = load_dataset("banking.csv", inputs=["text"], expected="label")  # doctest: +SKIP
    >>> train, test = split(data, test=0.2, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plait.errors import PlaitError
from plait.evaluate.types import Item
from plait.records import Record, RecordError, decode_jsonl, problems_report, read_records

EXPECTED_NAMES = ("expected", "label", "answer", "output", "target")
"""Columns taken as the expected output, in this order, when ``expected`` is not given."""


class DatasetError(PlaitError):
    """A dataset file that cannot be read as asked; the message names the line and the fix."""


@dataclass(frozen=True)
class Dataset:
    """Items loaded from one file, with the hash of their content (stored with every run)."""

    items: tuple[Item, ...]
    source: str
    """Where the items came from (a path, or a description)."""

    @property
    def hash(self) -> str:
        """First 12 hex digits of the SHA-256 over the items' ids, inputs and expected outputs."""
        digest = hashlib.sha256()
        for item in self.items:
            digest.update(json.dumps([item.id, item.inputs, item.expected], sort_keys=True, default=str).encode())
        return digest.hexdigest()[:12]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def labels(self) -> list[str]:
        """Sorted distinct expected outputs (the label set of a classification dataset)."""
        return sorted({str(i.expected) for i in self.items if i.expected is not None})


def load_dataset(path: str | Path, *, inputs: Sequence[str] | None = None, expected: str | None = None,
                 id_field: str = "id") -> Dataset:
    """Read a CSV (header row), JSONL or JSON (array of objects) file into a :class:`Dataset`.

    ``inputs`` are the input fields (default: every field but the expected and id ones,
    and ``metadata``); ``expected`` defaults to the first of ``expected``, ``label``,
    ``answer``, ``output``, ``target`` present. Other fields become metadata.

    Example:
        >>> data = load_dataset("eval.jsonl", inputs=["question"], expected="answer")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"No dataset at {path}. Pass a .csv (with a header row), .jsonl or .json file.")
    rows, problems = _read_rows(path)
    if not rows and not problems:
        raise DatasetError(f"{path} holds no rows.")
    if not rows:
        raise DatasetError(problems_report(str(path), problems, "Fix them and run again."))
    fields = list(rows[0][1])
    expected = expected if expected is not None else next((f for f in EXPECTED_NAMES if f in fields), None)
    wanted = list(inputs) if inputs else [f for f in fields if f not in (expected, id_field, "metadata")]
    if not wanted:
        raise DatasetError(f"{path}: no input fields left; its fields are {fields}. Pass inputs=[...].")
    items, seen = [], set()
    for line, row in rows:  # every bad row is collected: one run names them all
        missing = [f for f in [*wanted, *([expected] if expected else [])] if f not in row]
        if missing:
            problems.append((line, "missing field", f"{path}:{line}: no field {missing[0]!r}; this row has "
                                                    f"{sorted(row)}."))
            continue
        item_inputs = {f: row[f] for f in wanted}
        meta = {k: v for k, v in row.items() if k not in (*wanted, expected, id_field, "metadata")}
        meta.update(row.get("metadata") or {})
        item_id = str(row[id_field]) if row.get(id_field) not in (None, "") else _content_id(item_inputs, line)
        if item_id in seen:
            problems.append((line, "duplicate id", f"{path}:{line}: id {item_id!r} appears twice; ids must be unique."))
            continue
        seen.add(item_id)
        items.append(Item(item_id, item_inputs, row.get(expected) if expected else None, meta))
    if problems:
        raise DatasetError(problems_report(str(path), sorted(problems), "Fix the rows or choose other fields "
                                           "(inputs=..., expected=...) and run again."))
    return Dataset(tuple(items), str(path))


def _read_rows(path: Path) -> tuple[list[Record], list[tuple[int, str, str]]]:
    """The rows, and the JSONL lines that are not JSON objects (every one of them, not just the first)."""
    if path.suffix.lower() != ".jsonl":
        try:
            return list(read_records(path)), []
        except RecordError as exc:
            raise DatasetError(str(exc)) from exc
    rows, problems = [], []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"Cannot read {path}: {exc}. Pass a UTF-8 JSONL file: one JSON object per line.") from exc
    for number, row, bad_json in decode_jsonl(text, source=str(path)):
        if bad_json:
            problems.append((number, "not valid JSON", bad_json))
            continue
        if not isinstance(row, dict):
            problems.append((number, "not a JSON object",
                             f"{path}:{number}: expected a JSON object, got {type(row).__name__}."))
            continue
        rows.append((number, row))
    return rows, problems


def _content_id(inputs: dict[str, Any], line: int) -> str:
    # Content-derived, so a resumed run recognises the same rows; the line breaks ties between duplicates.
    return hashlib.sha256(json.dumps([inputs, line], sort_keys=True, default=str).encode()).hexdigest()[:12]


def split(data: Dataset, *, test: float = 0.2, seed: int = 0, stratify: bool = True) -> tuple[Dataset, Dataset]:
    """Split into (train, test), stratified by expected output so each label keeps its share.

    Example:
        >>> train, test = split(data, test=0.25, seed=0)  # doctest: +SKIP
    """
    if not 0 < test < 1:
        raise ValueError(f"test={test} must be a fraction between 0 and 1, e.g. 0.2.")
    rng = random.Random(seed)
    groups = _groups(data) if stratify else {"": list(data.items)}
    train, held = [], []
    for members in groups.values():
        members = members[:]
        rng.shuffle(members)
        cut = round(len(members) * test)
        held += members[:cut]
        train += members[cut:]
    order = {item.id: i for i, item in enumerate(data.items)}  # keep file order within each part
    return (Dataset(tuple(sorted(train, key=lambda i: order[i.id])), f"{data.source} (train)"),
            Dataset(tuple(sorted(held, key=lambda i: order[i.id])), f"{data.source} (test)"))


def sample(data: Dataset, n: int, *, seed: int = 0, stratify: bool = True) -> Dataset:
    """Return ``n`` items, drawn round-robin over labels when ``stratify`` (fixed seed).

    Example:
        >>> small = sample(data, 300, seed=0)  # doctest: +SKIP
    """
    if n >= len(data):
        return data
    rng = random.Random(seed)
    groups = _groups(data) if stratify else {"": list(data.items)}
    pools = [rng.sample(g, len(g)) for _, g in sorted(groups.items())]
    chosen: list[Item] = []
    while len(chosen) < n:
        for pool in pools:
            if pool and len(chosen) < n:
                chosen.append(pool.pop())
    ids = {item.id for item in chosen}
    return Dataset(tuple(i for i in data.items if i.id in ids), f"{data.source} (sample {n}, seed {seed})")


def _groups(data: Dataset) -> dict[str, list[Item]]:
    groups: dict[str, list[Item]] = defaultdict(list)
    for item in data.items:
        groups[str(item.expected)].append(item)
    return groups
