"""Token-aware splitting with overlap, measured in the embedding model's own tokens."""

from __future__ import annotations

import re
from collections.abc import Callable

CHUNK_TOKENS = 200
"""MiniLM reads at most 256 word pieces; 200 leaves room for the title line."""
OVERLAP_TOKENS = 40

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _units(text: str, count: Callable[[str], int], limit: int) -> list[str]:
    """Paragraphs, broken into sentences (then words) when longer than ``limit``."""
    units = []
    for paragraph in (p.strip() for p in re.split(r"\n\s*\n", text)):
        if not paragraph:
            continue
        if count(paragraph) <= limit:
            units.append(paragraph)
            continue
        for sentence in _SENTENCE.split(paragraph):
            words = sentence.split()
            while words and count(" ".join(words)) > limit:
                cut = max(1, len(words) * limit // max(1, count(" ".join(words))))
                units.append(" ".join(words[:cut]))
                words = words[cut:]
            if words:
                units.append(" ".join(words))
    return units


def split_text(text: str, *, count: Callable[[str], int], chunk_tokens: int = CHUNK_TOKENS,
               overlap_tokens: int = OVERLAP_TOKENS) -> list[str]:
    """Pack paragraphs/sentences into chunks of at most ``chunk_tokens``, repeating up to
    ``overlap_tokens`` of the previous chunk's end at the start of the next.

    Example:
        >>> split_text("One. Two. Three.", count=lambda t: len(t.split()), chunk_tokens=2, overlap_tokens=1)
        ['One. Two.', 'Two. Three.']
    """
    if overlap_tokens >= chunk_tokens:
        raise ValueError("overlap_tokens must be smaller than chunk_tokens.")
    chunks: list[str] = []
    current: list[str] = []
    for unit in _units(text, count, chunk_tokens - overlap_tokens):
        if current and count(" ".join([*current, unit])) > chunk_tokens:
            chunks.append(" ".join(current))
            tail: list[str] = []
            for previous in reversed(current):  # carry the end of this chunk into the next
                if count(" ".join([previous, *tail])) > overlap_tokens:
                    break
                tail.insert(0, previous)
            current = tail
        current.append(unit)
    if current:
        chunks.append(" ".join(current))
    return chunks
