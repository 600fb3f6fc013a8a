"""Structured output by constrained decoding: a schema becomes a GBNF grammar.

On llama.cpp the grammar makes invalid output impossible; the parser here only turns the
(always valid) text into the requested Python value.
"""

from __future__ import annotations

import copy
import json
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError

from plait.errors import OutputParseError

MAX_STRING_LENGTH = 300
"""Cap for string fields without ``maxLength``, so a looping model cannot run past max_tokens."""
MAX_ARRAY_ITEMS = 32
"""Cap for arrays without ``maxItems``, for the same reason."""


@dataclass(frozen=True)
class StructuredSpec:
    """A grammar that admits only valid output, and the parser for that output."""

    grammar: str
    parse: Callable[[str], Any]
    json_schema: dict[str, Any] | None


def _gbnf_literal(value: str) -> str:
    return json.dumps(value)  # JSON string escaping is valid GBNF literal escaping.


def choice_grammar(choices: typing.Sequence[str]) -> str:
    """Return a grammar that admits exactly one of ``choices``, after an optional space.

    The space matters: after ``Assistant:`` the model's natural next token is `` shipping``,
    and forbidding it pushes the model towards the wrong label.

    Example:
        >>> choice_grammar(["yes", "no"])
        'root ::= " "? ("yes" | "no")'
    """
    if not choices:
        raise ValueError("choice_grammar needs at least one choice.")
    return 'root ::= " "? (' + " | ".join(_gbnf_literal(str(c)) for c in choices) + ")"


def bound_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Copy ``schema`` with length caps on unbounded strings and arrays."""
    bounded = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            free_string = not ({"enum", "const", "pattern", "format", "maxLength"} & node.keys())
            if kind == "string" and free_string:
                node["maxLength"] = MAX_STRING_LENGTH
            if kind == "array" and "maxItems" not in node:
                node["maxItems"] = MAX_ARRAY_ITEMS
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(bounded)
    return bounded


# llama-cpp-python's converter lets raw control characters (a newline) into strings, which is
# invalid JSON; llama.cpp's own converter excludes them, and so do we.
_LOOSE_CHAR = 'char ::= [^"\\\\]'
_STRICT_CHAR = 'char ::= [^"\\\\\\x7F\\x00-\\x1F]'


@lru_cache(maxsize=256)
def _schema_grammar(schema_json: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    grammar = json_schema_to_gbnf(schema_json).replace(_LOOSE_CHAR, _STRICT_CHAR)
    # After "Assistant:" the natural first token is " {" (with a space); forbidding it pushes a
    # small model off its own tokenization and visibly worsens what it writes.
    return re.sub(r"^root ::= ", "root ::= \" \"? json-root\njson-root ::= ", grammar, count=1, flags=re.M)


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise OutputParseError(
            f"Model output is not complete JSON ({exc.msg}); it was probably cut off by max_tokens. "
            "Raise max_tokens or shorten the schema's fields.", output=text) from exc


def _kind(schema: Any) -> str:
    if typing.get_origin(schema) is typing.Literal:
        return "literal"
    if isinstance(schema, type) and issubclass(schema, Enum):
        return "enum"
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return "model"
    if isinstance(schema, dict):
        return "json"
    raise TypeError(f"Cannot build structured output for {schema!r}; pass a Pydantic model class, "
                    "typing.Literal[...], an Enum class, or a JSON schema dict.")


def parser_for(schema: Any) -> Callable[[str], Any]:
    """Return the function that turns model text into a value of ``schema``.

    Example:
        >>> parser_for(typing.Literal["a", "b"])(" b")
        'b'
    """
    kind = _kind(schema)
    if kind == "literal":
        choices = [str(c) for c in typing.get_args(schema)]
        return lambda text: _pick(text, choices)
    if kind == "enum":
        by_value = {str(member.value): member for member in schema}
        return lambda text: by_value[_pick(text, list(by_value))]
    if kind == "json":
        return _load_json

    def parse_model(text: str) -> BaseModel:
        try:
            return schema.model_validate(_load_json(text))
        except ValidationError as exc:
            raise OutputParseError(f"Model output does not fit {schema.__name__}: {exc}", output=text) from exc

    return parse_model


def structured_spec(schema: Any) -> StructuredSpec:
    """Build the grammar and parser for a Pydantic model, ``Literal[...]``, Enum or JSON schema."""
    kind = _kind(schema)
    if kind == "literal":
        return StructuredSpec(choice_grammar([str(c) for c in typing.get_args(schema)]), parser_for(schema), None)
    if kind == "enum":
        return StructuredSpec(choice_grammar([str(m.value) for m in schema]), parser_for(schema), None)
    json_schema = bound_schema(schema.model_json_schema() if kind == "model" else schema)
    return StructuredSpec(_schema_grammar(json.dumps(json_schema)), parser_for(schema), json_schema)


def _pick(text: str, choices: list[str]) -> str:
    value = text.strip()
    if value not in choices:
        raise OutputParseError(f"Model output {value!r} is not one of {choices}.", output=text)
    return value
