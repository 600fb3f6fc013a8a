"""Fine-tuning data: chat examples from labelled rows or traces; validation, de-duplication, splits, costs.

A chat example is ``{"messages": [{"role": ..., "content": ...}, ...]}`` whose last message is
the assistant's answer (OpenAI's format, and what plait's LoRA trainer reads).

Example:
    >>> from plait.finetune.data import classification_examples, split_examples
    >>> examples = classification_examples([("Where is my card?", "card_arrival")])
    >>> examples[0]["messages"][-1]
    {'role': 'assistant', 'content': 'card_arrival'}
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plait.errors import PlaitError
from plait.prompts import Prompt, prompt
from plait.records import SHOWN_PROBLEMS, decode_jsonl, problems_report

ROLES = ("system", "user", "assistant")
CLASSIFY_FT = prompt("classify_ft", [
    ("system", "Classify the customer's message. Answer with the intent label only."),
    ("human", "Text: {text}"),
])
"""Prompt of fine-tuned classifiers: short, since the labels live in the weights, not the prompt."""
DEFAULT_TRAINING_PRICES = {"openai:gpt-4o-mini-2024-07-18": 3.00, "openai:gpt-4.1-mini-2025-04-14": 5.00,
                           "openai:gpt-4.1-nano-2025-04-14": 1.50, "local:gemma-3-270m": 0.0}
"""USD per million training tokens (OpenAI's list prices, 2025); ``[prices]`` in plait.toml overrides."""


class DataError(PlaitError):
    """Fine-tuning data that cannot be used as it is; the message names the line and the fix."""


def classification_examples(rows: Iterable[tuple[str, str]], *, template: Prompt = CLASSIFY_FT) -> list[dict[str, Any]]:
    """Turn (text, label) rows into chat examples through ``template`` (its variable: ``text``).

    Example:
        >>> classification_examples([("hi", "greeting")])[0]["messages"][1]
        {'role': 'user', 'content': 'Text: hi'}
    """
    examples = []
    for text, label in rows:
        messages = template.template.invoke({"text": text}).to_messages()
        examples.append({"messages": [*({"role": _role(m.type), "content": m.content} for m in messages),
                                      {"role": "assistant", "content": str(label)}]})
    return examples


def prompt_task(template: Prompt = CLASSIFY_FT) -> dict[str, Any]:
    """The ``task`` entries that make a classification node use ``template`` with the adapter.

    Stored in ``adapter.json``; :func:`plait.chains.classifier` then prompts the adapter the
    way it was trained instead of with its few-shot default.
    """
    messages = [[type(m).__name__.removesuffix("MessagePromptTemplate").lower(), m.prompt.template]
                for m in template.template.messages]
    return {"prompt": messages, "prompt_name": template.name}


def _role(kind: str) -> str:
    return {"human": "user", "ai": "assistant"}.get(kind, kind)


def label_of(example: Mapping[str, Any]) -> str:
    """The example's answer: the content of its last (assistant) message."""
    return str(example["messages"][-1]["content"])


def read_examples(path: str | Path, *, max_tokens: int | None = None,
                  count_tokens: Callable[[str], int] | None = None) -> list[dict[str, Any]]:
    """Read and validate a chat JSONL (``messages``) or prompt/completion JSONL file.

    Every problem is reported with its line number: bad JSON, unknown role, empty content, an
    example whose last message is not the assistant's, or one over ``max_tokens``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"Cannot read {path}: {exc}. Pass a UTF-8 JSONL file: one JSON example per line.") from exc
    return _checked(text, str(path), max_tokens, count_tokens)


def parse_examples(text: str, *, source: str, max_tokens: int | None = None,
                   count_tokens: Callable[[str], int] | None = None) -> list[dict[str, Any]]:
    """Validate JSONL text as :func:`read_examples` does; errors name ``source:LINE``.

    Example:
        >>> parse_examples('{"prompt": "hi", "completion": "hello"}', source="upload.jsonl")[0]["messages"][1]
        {'role': 'assistant', 'content': 'hello'}
    """
    return _checked(text, source, max_tokens, count_tokens)


SHOWN_ERRORS = SHOWN_PROBLEMS
_KINDS = (("not valid JSON", "not valid JSON"), ("unknown role", "unknown role"), ("empty content", "empty content"),
          ("last message", "last message not the assistant's"), ("tokens, over", "over the token limit"))


def _kind(message: str) -> str:
    return next((kind for needle, kind in _KINDS if needle in message), "not an example")


def _checked(text: str, source: str, max_tokens: int | None,
             count_tokens: Callable[[str], int] | None) -> list[dict[str, Any]]:
    """Every line checked, every problem collected: one run names them all (as OpenAI's data checks do)."""
    examples, problems = [], []
    for number, row, bad_json in decode_jsonl(text, source=source):
        where = f"{source}:{number}"
        try:
            if bad_json:
                raise DataError(bad_json)
            example = validate_example(row, where)
            if max_tokens and count_tokens:
                n = count_tokens(render_text(example))
                if n > max_tokens:
                    raise DataError(f"{where}: example is {n} tokens, over the limit of {max_tokens}; shorten it, "
                                    "drop it, or raise --max-tokens.")
            examples.append(example)
        except DataError as exc:
            problems.append((number, str(exc)))
    if problems:
        raise DataError(_report(source, problems))
    if not examples:
        raise DataError(f"{source} holds no examples; write one JSON example per line.")
    return examples


def _report(source: str, problems: list[tuple[int, str]]) -> str:
    return problems_report(source, [(n, _kind(m), m) for n, m in problems],
                           'Fix them and run again; each line must be {"messages": [...]} or '
                           '{"prompt": ..., "completion": ...}.')


def validate_example(row: Any, where: str) -> dict[str, Any]:
    """Check one example; prompt/completion rows become chat examples."""
    if isinstance(row, dict) and "prompt" in row and "completion" in row:
        row = {"messages": [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": row["completion"]}]}
    if not isinstance(row, dict) or not isinstance(row.get("messages"), list) or not row["messages"]:
        raise DataError(f"{where}: expected {{\"messages\": [...]}} or {{\"prompt\": ..., \"completion\": ...}}.")
    for i, message in enumerate(row["messages"], 1):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            role = message.get("role") if isinstance(message, dict) else message
            raise DataError(f"{where}: message {i} has unknown role {role!r}; roles are {', '.join(ROLES)}.")
        if not isinstance(message.get("content"), str) or not message["content"].strip():
            raise DataError(f"{where}: message {i} ({message['role']}) has empty content.")
    if row["messages"][-1]["role"] != "assistant":
        raise DataError(f"{where}: the last message must be the assistant's answer (the text to learn).")
    return {"messages": [{"role": m["role"], "content": m["content"]} for m in row["messages"]]}


def render_text(example: Mapping[str, Any]) -> str:
    """All of an example's text, for counting tokens."""
    return "\n".join(m["content"] for m in example["messages"])


def dedupe(examples: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Drop exact duplicates (same messages); return (unique examples, number dropped)."""
    seen, unique = set(), []
    for example in examples:
        key = json.dumps(example["messages"], sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append(example)
    return unique, len(examples) - len(unique)


def data_hash(examples: Sequence[dict[str, Any]]) -> str:
    """First 12 hex digits of the SHA-256 over the examples, stored with every adapter."""
    return hashlib.sha256(json.dumps([e["messages"] for e in examples], sort_keys=True).encode()).hexdigest()[:12]


def split_examples(examples: Sequence[dict[str, Any]], *, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
                   seed: int = 0) -> dict[str, list[dict[str, Any]]]:
    """Stratified train/validation/test split by answer (label), with a fixed seed."""
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-6 or min(fractions) < 0:
        raise DataError(f"Split fractions {fractions} must be three non-negative numbers adding up to 1, e.g. 0.8,0.1,0.1.")
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for example in examples:
        groups[label_of(example)].append(example)
    rng = random.Random(seed)
    parts: dict[str, list[dict[str, Any]]] = {"train": [], "validation": [], "test": []}
    for label in sorted(groups):
        members = groups[label][:]
        rng.shuffle(members)
        n_val, n_test = round(len(members) * fractions[1]), round(len(members) * fractions[2])
        if len(members) >= 3:  # every split sees every label that has enough examples
            n_val, n_test = max(n_val, 1 if fractions[1] else 0), max(n_test, 1 if fractions[2] else 0)
        parts["validation"] += members[:n_val]
        parts["test"] += members[n_val:n_val + n_test]
        parts["train"] += members[n_val + n_test:]
    for part in parts.values():
        rng.shuffle(part)
    return parts


@dataclass(frozen=True)
class Drift:
    """How far a split's label distribution is from the training split's."""

    split: str
    distance: float
    """Total variation distance between the label distributions (0 = same, 1 = disjoint)."""
    missing_in_train: tuple[str, ...]


def label_drift(parts: Mapping[str, Sequence[dict[str, Any]]], *, threshold: float = 0.1) -> list[Drift]:
    """Compare each split's label distribution with train's; return the ones that drift."""
    train = Counter(label_of(e) for e in parts["train"])
    drifting = []
    for name, part in parts.items():
        if name == "train" or not part:
            continue
        other = Counter(label_of(e) for e in part)
        labels = set(train) | set(other)
        n_train, n_other = max(1, sum(train.values())), sum(other.values())
        distance = 0.5 * sum(abs(train[x] / n_train - other[x] / n_other) for x in labels)
        missing = tuple(sorted(set(other) - set(train)))
        if distance > threshold or missing:
            drifting.append(Drift(name, round(distance, 3), missing))
    return drifting


def cost_estimates(tokens: int, *, epochs: int, prices: Mapping[str, float] | None = None) -> dict[str, float]:
    """USD to train on ``tokens`` tokens for ``epochs`` epochs, per provider model."""
    table = {**DEFAULT_TRAINING_PRICES, **(prices or {})}
    return {ref: round(tokens * epochs * price / 1_000_000, 4) for ref, price in sorted(table.items())}


def write_jsonl(path: str | Path, examples: Iterable[Mapping[str, Any]]) -> Path:
    """Write examples one JSON object per line (UTF-8)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for example in examples:
            f.write(json.dumps(example, ensure_ascii=False) + "\n")
    return path
