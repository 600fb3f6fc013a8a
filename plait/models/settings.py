"""Generation settings as one frozen value: what a node asks of its model, resolved once.

``None`` leaves the model's own default (its constructor's, or ``plait.toml``'s ``[local]``).
Settings merge left to right, a later non-``None`` value winning, in the spirit of the OpenAI
Agents SDK's ``ModelSettings``.

Example:
    >>> node = ModelSettings(stop=("\\nQuestion:",)).merged_with(FREE_TEXT)
    >>> node.options()
    {'repeat_penalty': 1.1, 'stop': ['\\nQuestion:']}
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class ModelSettings:
    """Generation settings for one node; ``None`` leaves the model's own default.

    Example:
        >>> ModelSettings(max_tokens=60).merged_with(ModelSettings(max_tokens=80, seed=1))
        ModelSettings(temperature=None, top_p=None, max_tokens=80, repeat_penalty=None, seed=1, stop=None)
    """

    temperature: float | None = None
    """Sampling temperature; 0 is greedy."""
    top_p: float | None = None
    """Nucleus sampling mass."""
    max_tokens: int | None = None
    """Most tokens generated per call."""
    repeat_penalty: float | None = None
    """Penalty on repeated tokens, 1.0 = off (llama.cpp models only: OpenAI's API has no such option)."""
    seed: int | None = None
    """Sampling seed, so runs at temperature > 0 are reproducible."""
    stop: tuple[str, ...] | None = None
    """Stop sequences for the call."""

    def merged_with(self, later: ModelSettings | None) -> ModelSettings:
        """Return these settings overlaid by ``later``: each of its non-``None`` values wins.

        Example:
            >>> ModelSettings(temperature=0.7).merged_with(ModelSettings(seed=3)).seed
            3
        """
        if later is None:
            return self
        return ModelSettings(**{f.name: _pick(getattr(self, f.name), getattr(later, f.name)) for f in fields(self)})

    def options(self) -> dict[str, Any]:
        """The set values as keyword options for a chat model's ``bind(...)``, ``invoke(...)`` or constructor.

        Example:
            >>> ModelSettings(max_tokens=60, stop=("\\n",)).options()
            {'max_tokens': 60, 'stop': ['\\n']}
        """
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        if values["stop"] is not None:
            values["stop"] = list(values["stop"])  # LangChain and llama.cpp take stop sequences as a list
        return {name: value for name, value in values.items() if value is not None}


def _pick(earlier: Any, later: Any) -> Any:
    return earlier if later is None else later


FREE_TEXT_REPEAT_PENALTY = 1.1
"""Free reasoning and protocol text on a small local model: a mild penalty ends the loops it falls into."""
FREE_TEXT = ModelSettings(repeat_penalty=FREE_TEXT_REPEAT_PENALTY)
"""Settings for free text under a grammar (chain-of-thought reasoning, the ReAct protocol's JSON)."""
PROTOCOL_MIN_TOKENS = 512
"""Token floor for a ReAct protocol reply: its JSON (with the thought) must be able to close."""
SQL_MAX_TOKENS = 120
"""Budget of one generated SELECT query (the schema grammar keeps it on one line)."""
SHORT_REPLY = ModelSettings(max_tokens=60)
"""One-line replies of the support assistant: chit-chat and the hand-off summary."""
