"""Pick one of a fixed set of strings with llama.cpp, and say how sure the model was.

Greedy decoding restricted to a token trie of the choices: the same answer a grammar would
give, plus the probability of each step renormalised over the allowed tokens, whose product
is the confidence. Only the choice tokens are evaluated, and the prompt's shared prefix with
the previous call is reused from the KV cache (few-shot prompts share long prefixes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_END = -1  # trie key meaning "the choice ends here"


@dataclass
class _Node:
    children: dict[int, _Node] = field(default_factory=dict)
    choice: str | None = None


@dataclass(frozen=True)
class Choice:
    """The chosen string, its confidence, and the tokens spent."""

    value: str
    confidence: float
    prompt_tokens: int
    completion_tokens: int
    evaluated_tokens: int
    """Prompt tokens actually computed; the rest came from the KV cache (shared prefix)."""


def _trie(llama: Any, choices: Sequence[str], leading_space: bool) -> _Node:
    root = _Node()
    for choice in choices:
        text = (" " + choice) if leading_space else choice
        node = root
        for token in llama.tokenize(text.encode("utf-8"), add_bos=False, special=False):
            node = node.children.setdefault(token, _Node())
        node.choice = choice
    return root


def _eval_prompt(llama: Any, tokens: list[int]) -> int:
    # Reuse the longest prefix already in the KV cache, as llama-cpp-python's generate() does.
    cached = llama.input_ids[: llama.n_tokens]
    same = 0
    for a, b in zip(cached, tokens):
        if a != b:
            break
        same += 1
    same = min(same, len(tokens) - 1)  # the last prompt token must be evaluated to get its logits
    llama.n_tokens = same
    llama.eval(tokens[same:])
    return len(tokens) - same


def _logits(llama: Any) -> np.ndarray:
    return np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).copy()


def _end_tokens(llama: Any) -> list[int]:
    newline = llama.tokenize(b"\n", add_bos=False, special=False)
    return [t for t in (llama.token_eos(), *newline[-1:]) if t >= 0]


def choose(llama: Any, prompt: str, choices: Sequence[str], *, leading_space: bool = True) -> Choice:
    """Return the most likely of ``choices`` to follow ``prompt`` (caller holds the model lock)."""
    tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
    node, end_tokens = _trie(llama, choices, leading_space), _end_tokens(llama)
    evaluated = _eval_prompt(llama, tokens)
    log_confidence, generated = 0.0, 0
    while True:
        allowed = dict(node.children)
        if node.choice is not None:
            allowed.update({t: _Node(choice=node.choice) for t in end_tokens})  # a choice that prefixes another
        ids = list(allowed)
        logits = _logits(llama)[ids].astype(np.float64)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        best = int(np.argmax(probs))
        log_confidence += math.log(probs[best])
        token, node = ids[best], allowed[ids[best]]
        generated += 1
        if node.choice is not None and not node.children:
            break  # the choice is complete; its last token need not be evaluated
        llama.eval([token])
    return Choice(node.choice or "", math.exp(log_confidence), len(tokens), generated, evaluated)


def choose_slots(llama: Any, prompt: str, n: int, choices: Sequence[str], *,
                 leading_space: bool = True) -> list[Choice]:
    """Fill ``n`` indexed answer slots (``1. x``, ``2. y``...) each with one of ``choices``.

    The slot numbers are forced, the labels chosen; each step re-uses the KV cache, so only
    the new tokens are evaluated.
    """
    answer, results = "", []
    for i in range(1, n + 1):
        answer += (" " if leading_space else "") + f"{i}." if i == 1 else f"\n{i}."
        result = choose(llama, prompt + answer, choices, leading_space=True)
        answer += " " + result.value
        results.append(result)
    return results
