"""Named, versioned prompt templates, and the helper that marks a Runnable as a plait node.

A prompt's version is a hash of its content, so a trace row's ``name@version`` says exactly
which wording produced it; editing a template changes its version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable


@dataclass(frozen=True)
class Prompt:
    """A chat prompt template with a stable name.

    Example:
        >>> p = Prompt("greet", ChatPromptTemplate.from_messages([("human", "Say hi to {name}")]))
        >>> p.id.startswith("greet@")
        True
    """

    name: str
    """Stable name, e.g. ``classify``."""
    template: ChatPromptTemplate
    """The messages sent to the model."""

    @property
    def version(self) -> str:
        """First 8 hex digits of the SHA-256 of the template's content."""
        parts = [(type(m).__name__, getattr(getattr(m, "prompt", None), "template", repr(m)))
                 for m in self.template.messages]
        return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()[:8]

    @property
    def id(self) -> str:
        """``name@version``, as recorded in traces."""
        return f"{self.name}@{self.version}"


def prompt(name: str, messages: list[tuple[str, str]]) -> Prompt:
    """Build a :class:`Prompt` from ``(role, template)`` pairs.

    Example:
        >>> prompt("echo", [("human", "{text}")]).template.invoke({"text": "hi"}).to_string()
        'Human: hi'
    """
    return Prompt(name, ChatPromptTemplate.from_messages(messages))


def as_node(runnable: Runnable, *, name: str, prompt: Prompt | None = None,
            metadata: dict[str, Any] | None = None) -> Runnable:
    """Name ``runnable`` as a plait node, so its model calls are traced under ``name`` and ``prompt``.

    Example:
        >>> chain = as_node(ASK.template | llm, name="ask", prompt=ASK)  # doctest: +SKIP
    """
    meta = {"plait_node": name, **(metadata or {})}
    if prompt is not None:
        meta["plait_prompt"] = prompt.id
    return runnable.with_config(run_name=name, metadata=meta)


ASK = prompt("ask", [
    ("system", "A conversation with a helpful assistant. The assistant answers in one or two short, "
               "factual sentences."),
    ("human", "What is the boiling point of water at sea level?"),
    ("ai", "Water boils at 100 degrees Celsius (212 degrees Fahrenheit) at sea level."),
    ("human", "{question}"),
])
"""Default prompt of ``plait ask``: one worked exchange shows a base model the answer format."""
ASK_STOP = ["\n\n"]
"""``plait ask`` wants one short paragraph; a base model tends to start a new topic after a blank line."""

SCHEMA_HINT = "Reply with one JSON object that matches this JSON schema: {schema}"
"""System message local models get with ``with_structured_output`` (the grammar enforces the schema)."""
