"""One reader for labelled files: the rows of a .csv, .jsonl or .json file as (line number, dict).

Datasets, few-shot pools, moderation data and fine-tuning data all come through here, so every
layer agrees on the encoding (UTF-8, with or without a byte-order mark), on blank lines (skipped)
and on errors, which name ``file:line`` and say how to fix the file. Callers keep their own
checks of what a row must hold, and their own messages for it.

Example:
    >>> from plait.records import parse_jsonl
    >>> list(parse_jsonl('{"text": "hi", "label": "greeting"}\\n\\n{"text": "bye", "label": "farewell"}',
    ...                  source="pool.jsonl"))
    [(1, {'text': 'hi', 'label': 'greeting'}), (3, {'text': 'bye', 'label': 'farewell'})]
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Literal

from plait.errors import PlaitError

Format = Literal["csv", "jsonl", "json"]
Record = tuple[int, dict[str, Any]]
"""A row and the line it starts on (1-based; in a CSV file, the line it ends on)."""

FORMATS: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".json": "json"}
"""Format of each file suffix; callers that read other suffixes name the format themselves."""

_FIX = {"csv": "Pass a UTF-8 CSV file with a header row.",
        "jsonl": "Pass a UTF-8 JSONL file: one JSON object per line.",
        "json": "Pass a UTF-8 JSON file holding one array of objects."}
_GAP = re.compile(r"[\s,]*")  # between the items of a JSON array that has already parsed


class RecordError(PlaitError):
    """A labelled file that cannot be read; the message names ``file:line`` and the fix."""


class MissingColumnError(RecordError):
    """A CSV header lacks a column the caller needs (often: the wrong column was named)."""


def read_records(path: str | Path, *, format: Format | None = None, columns: Sequence[str] = (),
                 skip_blank: bool = True) -> Iterator[Record]:
    """Yield ``(line, row)`` for every row of a CSV (header row), JSONL or JSON (array) file.

    ``format`` defaults to the one of the file's suffix (:data:`FORMATS`). ``columns`` are
    columns a CSV header must name (:class:`MissingColumnError` otherwise); JSON rows have no
    header, so their fields are the caller's to check. ``skip_blank=False`` makes a blank line
    of a JSONL file an error. Every problem raises :class:`RecordError`.

    Example:
        >>> for line, row in read_records("eval.csv", columns=["text", "label"]):  # doctest: +SKIP
        ...     print(line, row["text"], row["label"])
        2 Where is my card? card_arrival
    """
    path = Path(path)
    kind = format or FORMATS.get(path.suffix.lower())
    if kind not in _FIX:
        raise RecordError(f"{path}: unsupported file type {path.suffix!r}; use .csv or .jsonl (or .json holding "
                          "one array of objects).")
    text = _read_text(path, kind)
    if kind == "csv":
        yield from _csv_rows(io.StringIO(text, newline=""), str(path), columns)
    elif kind == "jsonl":
        yield from parse_jsonl(text, source=str(path), skip_blank=skip_blank)
    else:
        yield from _json_rows(text, str(path))


def stream_records(path: str | Path, *, format: Format | None = None, columns: Sequence[str] = ()) -> Iterator[Record]:
    """Like :func:`read_records`, but CSV and JSONL files are read a line at a time: constant memory
    whatever their size (a .json array is read whole, as it must be parsed whole).

    Example:
        >>> for line, row in stream_records("tickets.csv", columns=["text"]):  # doctest: +SKIP
        ...     handle(row["text"])
    """
    path = Path(path)
    kind = format or FORMATS.get(path.suffix.lower())
    if kind not in ("csv", "jsonl"):
        yield from read_records(path, format=kind, columns=columns)
        return
    try:
        with path.open(encoding="utf-8-sig", newline="" if kind == "csv" else None) as f:
            if kind == "csv":
                yield from _csv_rows(f, str(path), columns)
            else:
                yield from _jsonl_lines(f, str(path), skip_blank=True)
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"Cannot read {path}: {exc}. {_FIX[kind]}") from exc


def parse_jsonl(text: str, *, source: str, skip_blank: bool = True) -> Iterator[Record]:
    """Yield ``(line, object)`` for each line of JSONL ``text``; errors name ``source:LINE``.

    For text that did not come from a file (an upload); a byte-order mark is not removed here.

    Example:
        >>> next(parse_jsonl('{"q": 1}', source="upload.jsonl"))
        (1, {'q': 1})
    """
    # Universal newlines: "\r\n" and "\r" end lines too, but U+2028 and friends (which
    # str.splitlines() would split on) may sit inside a JSON string.
    yield from _jsonl_lines(io.StringIO(text, newline=None), source, skip_blank=skip_blank)


def _jsonl_lines(lines: Iterable[str], source: str, *, skip_blank: bool) -> Iterator[Record]:
    for number, line in enumerate(lines, 1):
        where = f"{source}:{number}"
        if not line.strip():
            if skip_blank:
                continue
            raise RecordError(f"{where}: empty line; every line must hold one JSON object. Remove it.")
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecordError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}). "
                              "Each line must be one JSON object.") from exc
        yield number, _object(row, where, "Each line must be one JSON object.")


def _read_text(path: Path, kind: Format) -> str:
    try:
        # newline="" keeps the line ends inside quoted CSV fields for the csv module to read.
        with path.open(encoding="utf-8-sig", newline="" if kind == "csv" else None) as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"Cannot read {path}: {exc}. {_FIX[kind]}") from exc


def _csv_rows(stream: IO[str], source: str, columns: Sequence[str]) -> Iterator[Record]:
    reader = csv.DictReader(stream)
    try:
        fields = reader.fieldnames or []
        for name in columns:
            if name not in fields:
                raise MissingColumnError(f"{source} has no column {name!r}; its columns are {fields}.")
        for row in reader:
            yield reader.line_num, dict(row)
    except csv.Error as exc:
        # reader.reader: the DictReader's own count stops at the last good row.
        raise RecordError(f"{source}:{reader.reader.line_num}: malformed CSV ({exc}). {_FIX['csv']}") from exc


def _json_rows(text: str, source: str) -> Iterator[Record]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{source}:{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno}). "
                          f"{_FIX['json']}") from exc
    if not isinstance(items, list):
        raise RecordError(f"{source}: expected an array of objects, got {type(items).__name__}. {_FIX['json']} "
                          "(or a .jsonl file, one object per line).")
    for line, item in zip(_item_lines(text), items):
        yield line, _object(item, f"{source}:{line}", _FIX["json"])


def _item_lines(text: str) -> Iterator[int]:
    """The line each item of a (valid) JSON array starts on."""
    decoder = json.JSONDecoder()
    index = _GAP.match(text, text.index("[") + 1).end()
    line, counted = 1, 0
    while index < len(text) and text[index] != "]":
        line, counted = line + text.count("\n", counted, index), index
        yield line
        index = _GAP.match(text, decoder.raw_decode(text, index)[1]).end()


def _object(row: Any, where: str, fix: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise RecordError(f"{where}: expected a JSON object, got {type(row).__name__}. {fix}")
    return row


def decode_jsonl(text: str, *, source: str) -> Iterator[tuple[int, Any, str | None]]:
    """``(line, value, None)`` for each non-blank line that decodes, ``(line, None, message)`` for each that does
    not: every line is seen, so a caller can report all the bad ones at once (:func:`problems_report`).

    Example:
        >>> list(decode_jsonl('{"a": 1}\\n{oops', source="f.jsonl"))[1][2]
        'f.jsonl:2: not valid JSON (Expecting property name enclosed in double quotes at column 2).'
    """
    for number, line in enumerate(io.StringIO(text, newline=None), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), None
        except json.JSONDecodeError as exc:
            yield number, None, f"{source}:{number}: not valid JSON ({exc.msg} at column {exc.colno})."


SHOWN_PROBLEMS = 20
"""Bad lines described one by one in a report; past these, counts per kind say the rest."""


def problems_report(source: str, problems: Sequence[tuple[int, str, str]], fix: str) -> str:
    """One message for every bad line of ``source``: ``(line, kind, message)`` counted per kind with their
    line numbers, then the first :data:`SHOWN_PROBLEMS` messages in full (as OpenAI's data checks report).

    Example:
        >>> print(problems_report("f.jsonl", [(2, "not valid JSON", "f.jsonl:2: not valid JSON")], "Fix it."))
        f.jsonl: 1 bad line — not valid JSON: 1 (line 2). Fix it.
          f.jsonl:2: not valid JSON
    """
    kinds: dict[str, list[int]] = {}
    for number, kind, _ in problems:
        kinds.setdefault(kind, []).append(number)
    counts = "; ".join(f"{kind}: {len(lines)} (line{'s' if len(lines) > 1 else ''} "
                       f"{', '.join(map(str, lines[:10]))}{', ...' if len(lines) > 10 else ''})"
                       for kind, lines in kinds.items())
    shown = "\n".join(f"  {message}" for _, _, message in problems[:SHOWN_PROBLEMS])
    more = f"\n  ... and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else ""
    return f"{source}: {len(problems)} bad line{'s' if len(problems) > 1 else ''} — {counts}. {fix}\n{shown}{more}"

