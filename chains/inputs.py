"""Reading a node's input: a string, or a mapping that holds the string under a key.

Example:
    >>> text_field({"question": "How long do refunds take?"}, "question", empty="Ask something.")
    'How long do refunds take?'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plait.errors import EmptyInputError


def text_field(value: Any, key: str, *, empty: str, wrong_type: str | None = None) -> str:
    """Return ``value`` (a string) or ``value[key]`` (a mapping); refuse missing or blank text.

    ``empty`` is the :class:`~plait.errors.EmptyInputError` message, which says how to fix the
    input. With ``wrong_type`` a value that is not text raises ``TypeError(wrong_type)``
    instead; without it, it counts as empty.

    Example:
        >>> text_field("   ", "text", empty="Cannot classify empty text.")
        Traceback (most recent call last):
        plait.errors.EmptyInputError: Cannot classify empty text.
    """
    text = value.get(key) if isinstance(value, Mapping) else value
    if not isinstance(text, str):
        if wrong_type is not None:
            raise TypeError(wrong_type)
        raise EmptyInputError(empty)
    if not text.strip():
        raise EmptyInputError(empty)
    return text
