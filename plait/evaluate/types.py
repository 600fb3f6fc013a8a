"""The records evaluation passes between its parts: dataset items and scored cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Item:
    """One dataset row.

    Example:
        >>> Item(id="7", inputs={"text": "Where is my card?"}, expected="card_arrival").inputs["text"]
        'Where is my card?'
    """

    id: str
    """Stable id: the ``id`` column when the file has one, else the row's content hash."""
    inputs: dict[str, Any]
    """Input fields, passed to the target (a single ``text`` field is passed as a string)."""
    expected: Any = None
    """Expected output (a label, an answer, a number); None when the dataset has none."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Other fields, e.g. ``source`` (the article a RAG answer should come from)."""


@dataclass(frozen=True)
class Case:
    """One item after the target ran on it: what metrics score.

    Example:
        >>> case = Case(item=Item("1", {"text": "hi"}, "greeting"), prediction="greeting", output={"label": "greeting"})
        >>> case.expected
        'greeting'
    """

    item: Item
    prediction: Any
    """The comparable value taken from the output: a label, an answer's text, a number."""
    output: dict[str, Any] = field(default_factory=dict)
    """The target's whole output as plain JSON data, e.g. ``{"answer": ..., "sources": [...]}``."""

    @property
    def expected(self) -> Any:
        return self.item.expected

    @property
    def inputs(self) -> dict[str, Any]:
        return self.item.inputs
