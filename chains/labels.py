"""Label sets for classification: a list, an Enum, or a two-level mapping (primary -> secondaries)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

SEPARATOR = "/"


@dataclass(frozen=True)
class LabelSet:
    """The labels a model may emit; two-level labels are emitted as ``primary/secondary``."""

    names: tuple[str, ...]
    """Every label the model may answer with."""
    primary_of: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Emitted label -> primary category, for two-level label sets."""

    @property
    def two_level(self) -> bool:
        """True when labels are ``primary/secondary`` pairs."""
        return bool(self.primary_of)

    def describe(self) -> str:
        """Text listing the labels, as shown to the model."""
        if not self.two_level:
            return ", ".join(self.names)
        groups: dict[str, list[str]] = {}
        for name in self.names:
            groups.setdefault(self.primary_of[name], []).append(name)
        return "\n".join(", ".join(group) for group in groups.values())

    def split(self, name: str) -> tuple[str | None, str | None]:
        """Return (primary, secondary) for a two-level label, (None, None) otherwise."""
        if not self.two_level:
            return None, None
        primary = self.primary_of[name]
        return primary, name[len(primary) + len(SEPARATOR):]


def label_set(labels: Sequence[str] | type[Enum] | Mapping[str, Sequence[str]] | LabelSet) -> LabelSet:
    """Normalise the accepted label forms.

    Example:
        >>> label_set({"billing": ["refund", "invoice"], "shipping": ["late"]}).names
        ('billing/refund', 'billing/invoice', 'shipping/late')
    """
    if isinstance(labels, LabelSet):
        return labels
    if isinstance(labels, type) and issubclass(labels, Enum):
        names: list[str] = [str(member.value) for member in labels]
        primary_of: dict[str, str] = {}
    elif isinstance(labels, Mapping):
        names, primary_of = [], {}
        for primary, secondaries in labels.items():
            if isinstance(secondaries, str) or not secondaries:
                raise ValueError(f"Category {primary!r} needs a list of secondary labels, got {secondaries!r}.")
            for secondary in secondaries:
                name = f"{primary}{SEPARATOR}{secondary}"
                names.append(name)
                primary_of[name] = primary
    elif isinstance(labels, str):
        raise ValueError(f"labels must be a list, not one string {labels!r}; did you mean {labels.split(',')}?")
    else:
        names, primary_of = [str(label).strip() for label in labels], {}
    if len(names) < 2 or any(not n for n in names):
        raise ValueError(f"Classification needs at least two non-empty labels, got {names}.")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"Duplicate labels {duplicates}; each label must be unique.")
    return LabelSet(tuple(names), MappingProxyType(primary_of))


def _norm(text: str) -> str:
    text = re.sub(r"\s*/\s*", "/", text.lower())
    return re.sub(r"[\s_\-]+", " ", text).strip()


def match_label(text: str, labels: LabelSet) -> str | None:
    """Find the label a model meant in messy output, or None.

    Tolerates case, quotes, punctuation, a ``Label:`` prefix, extra words around one label,
    and a bare secondary label when it is unique.

    Example:
        >>> match_label('Label: "Refund".', label_set(["refund", "shipping"]))
        'refund'
    """
    first = next((line for line in text.strip().splitlines() if line.strip()), "")
    cleaned = re.sub(r"^\s*(label|category|answer|intent)\s*[:=]\s*", "", first, flags=re.I)
    cleaned = cleaned.strip().strip("\"'`*.,;:!()[] ")
    by_norm = {_norm(n): n for n in labels.names}
    if _norm(cleaned) in by_norm:
        return by_norm[_norm(cleaned)]
    if labels.two_level:
        by_secondary: dict[str, list[str]] = {}
        for name in labels.names:
            by_secondary.setdefault(_norm(labels.split(name)[1] or ""), []).append(name)
        found = by_secondary.get(_norm(cleaned), [])
        if len(found) == 1:
            return found[0]
    mentioned = [n for n in labels.names if re.search(rf"(?<!\w){re.escape(_norm(n))}(?!\w)", _norm(text))]
    return mentioned[0] if len(mentioned) == 1 else None


def as_pairs(examples: Any) -> list[tuple[str, str]]:
    """Accept examples as (text, label) pairs or {"text", "label"} dicts."""
    pairs = []
    for i, example in enumerate(examples):
        if isinstance(example, Mapping):
            text, label = example.get("text"), example.get("label")
        elif isinstance(example, Sequence) and not isinstance(example, str) and len(example) == 2:
            text, label = example
        else:
            text = label = None
        if not isinstance(text, str) or not isinstance(label, str) or not text.strip():
            raise ValueError(f"Example {i} must be (text, label) or {{'text': ..., 'label': ...}} with "
                             f"non-empty text, got {example!r}.")
        pairs.append((text, label))
    return pairs
