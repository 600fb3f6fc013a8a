"""Answer-bearing units: the sentences, list items and table rows a chunk is made of.

A RAG answer rests on one fact, and a fact lives in a sentence or a table row, not in a
200-token chunk. Ingestion therefore stores each chunk as its heading line followed by one
unit per line, so a unit can be cited (and quoted) on its own. A Markdown table row alone
loses its meaning ("| Express | £6.95 |"), so each row is written with its header:
``Service: Express delivery (next working day); Price: £6.95``.

Example:
    >>> answer_units("| Service | Price |\\n|---|---|\\n| Express | £6.95 |\\n\\nWe ship daily. Returns are free.")
    ['Service: Express; Price: £6.95', 'We ship daily.', 'Returns are free.']
"""

from __future__ import annotations

import re
from collections.abc import Callable

CHUNK_TOKENS = 200
"""MiniLM reads at most 256 word pieces; 200 leaves room for the title line."""
OVERLAP_TOKENS = 40

# A sentence ends at . ! or ? followed by a space and a capital, digit, quote or bracket, unless the
# word before the full stop is a known abbreviation ("Larkspur & Co. order", "e.g. a lamp").
_ABBREVIATIONS = {"co", "e.g", "i.e", "etc", "approx", "no", "mr", "mrs", "ms", "dr", "st", "vs", "inc", "ltd"}
_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9£$€\"'(\[])")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def table_rows(lines: list[str]) -> list[str]:
    """Rows of a Markdown table, each with its header: ``Header: cell; Header: cell``."""
    header = _cells(lines[0])
    body = lines[2:] if len(lines) > 1 and _TABLE_RULE.match(lines[1].strip()) else lines[1:]
    rows = []
    for line in body:
        cells = _cells(line)
        pairs = [f"{name}: {cell}" if name else cell for name, cell in zip(header, cells) if cell]
        if pairs:
            rows.append("; ".join(pairs))
    return rows


def sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences, keeping abbreviations such as "Co." and "e.g." inside."""
    found, start = [], 0
    for match in _END.finditer(paragraph):
        word = paragraph[:match.start()].rsplit(None, 1)[-1].rstrip(".!?").lower()
        if word in _ABBREVIATIONS:
            continue
        found.append(paragraph[start:match.start()].strip())
        start = match.end()
    found.append(paragraph[start:].strip())
    return [s for s in found if s]


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("**", "").replace("__", "")).strip()


def answer_units(text: str) -> list[str]:
    """Units of a section's text: table rows (with header), list items, and sentences, in order."""
    units: list[str] = []
    for block in (b for b in re.split(r"\n\s*\n", text) if b.strip()):
        lines = [line for line in block.splitlines() if line.strip()]
        if all(line.lstrip().startswith("|") for line in lines):
            units += [_clean(row) for row in table_rows(lines)]
            continue
        paragraph: list[str] = []
        for line in lines + [""]:  # the empty sentinel flushes the last paragraph
            if _LIST_ITEM.match(line) or not line:
                units += sentences(_clean(" ".join(paragraph)))
                paragraph = []
                if line:
                    units.append(_clean(_LIST_ITEM.sub("", line, count=1)))
            else:
                paragraph.append(line)
    return [u for u in units if u]


def _fit(unit: str, count: Callable[[str], int], limit: int) -> list[tuple[str, int]]:
    """(piece, tokens) for a unit; one over ``limit`` tokens is cut into word runs that fit (a run-on sentence)."""
    tokens = count(unit)
    if tokens <= limit:
        return [(unit, tokens)]
    words, pieces = unit.split(), []
    while words and count(" ".join(words)) > limit:
        cut = max(1, len(words) * limit // max(1, count(" ".join(words))))
        pieces.append(" ".join(words[:cut]))
        words = words[cut:]
    pieces += [" ".join(words)] if words else []
    return [(piece, count(piece)) for piece in pieces]


def pack_units(units: list[str], *, count: Callable[[str], int], chunk_tokens: int = CHUNK_TOKENS,
               overlap_tokens: int = OVERLAP_TOKENS) -> list[list[str]]:
    """Pack units into chunks of at most ``chunk_tokens``; each chunk repeats up to
    ``overlap_tokens`` of units from the end of the previous one.

    Example:
        >>> pack_units(["One.", "Two.", "Three."], count=lambda t: len(t.split()), chunk_tokens=2, overlap_tokens=1)
        [['One.', 'Two.'], ['Two.', 'Three.']]
    """
    if overlap_tokens >= chunk_tokens:
        raise ValueError("overlap_tokens must be smaller than chunk_tokens.")
    size: dict[str, int] = {}
    chunks: list[list[str]] = []
    current: list[str] = []
    for unit, tokens in (piece for u in units for piece in _fit(u, count, chunk_tokens - overlap_tokens)):
        size[unit] = tokens
        if current and sum(size[u] for u in current) + size[unit] > chunk_tokens:
            chunks.append(current)
            tail: list[str] = []
            for previous in reversed(current):  # carry the end of this chunk into the next
                if sum(size[u] for u in [previous, *tail]) > overlap_tokens:
                    break
                tail.insert(0, previous)
            current = tail
        current.append(unit)
    if current:
        chunks.append(current)
    return chunks


def chunk_units(text: str, metadata: dict) -> list[str]:
    """The units of a stored chunk: its lines after the heading line when ``ingest`` wrote it
    (metadata ``units == "lines"``), else the units found in its text (chunks from elsewhere)."""
    if metadata.get("units") != "lines":
        return answer_units(text)
    lines = text.split("\n")[1:] if metadata.get("headed") else text.split("\n")
    return [line.strip() for line in lines if line.strip()]
