"""Batch prompting (Cheng et al. 2023): b inputs in one prompt with indexed slots.

The fixed part of the prompt (instructions, label list, examples) is paid once per batch
instead of once per input. On llama.cpp the model fills exactly b numbered slots, each decoded over the label set;
elsewhere answers are parsed tolerantly and only missing or invalid items are re-asked, one
per prompt. Results come back in input order with per-item token accounting.

Example:
    >>> from plait.chains import batch_classifier
    >>> classify_many = batch_classifier(["refund", "shipping"], batch_size=4, examples=pool)  # doctest: +SKIP
    >>> [c.label for c in classify_many.invoke(["Money back!", "Where is it?"])]  # doctest: +SKIP
    ['refund', 'shipping']
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, Literal

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from plait.chains.classify import Classification, _Classify, _usage, input_text
from plait.chains.examples import SimilarExamples
from plait.chains.labels import LabelSet, as_pairs, label_set, match_label
from plait.chains.prompts import BATCH_CLASSIFY, BATCH_SLOT, CLASSIFY
from plait.models import resolve_model
from plait.prompts import Prompt, as_node

MAX_AUTO_BATCH = 16
"""``batch_size="auto"`` never packs more than this: accuracy falls with very long batches."""
_SLOT_LINE = re.compile(r"^\s*\[?(\d+)[\].):\-]?\s+(.*\S)\s*$")


def slots_text(values: Sequence[str]) -> str:
    """Render values as indexed slots, one per line."""
    return "\n".join(BATCH_SLOT.format(index=i + 1, value=" ".join(v.split())) for i, v in enumerate(values))


def parse_slots(text: str, n: int, labels: LabelSet) -> dict[int, str]:
    """Return {slot index (0-based): label} for every slot answered with a valid label."""
    found: dict[int, str] = {}
    for line in text.splitlines():
        match = _SLOT_LINE.match(line)
        if not match:
            continue
        index = int(match.group(1)) - 1
        label = match_label(match.group(2), labels)
        if 0 <= index < n and label is not None and index not in found:
            found[index] = label
    return found


def auto_batch_size(llm: BaseChatModel, fixed_tokens: int, item_tokens: int, *, limit: int = MAX_AUTO_BATCH) -> int:
    """Largest b whose prompt and answers fit the model's context window (at most ``limit``)."""
    n_ctx = getattr(llm, "n_ctx", 16_384)
    room = n_ctx - fixed_tokens - 64  # headroom for the chat rendering
    return max(1, min(limit, room // max(1, item_tokens)))


class _BatchClassify:
    def __init__(self, single: _Classify, prompt: Prompt, batch_size: int | Literal["auto"]) -> None:
        self.single, self.prompt, self.batch_size = single, prompt, batch_size

    def _examples(self, texts: Sequence[str]) -> list[BaseMessage]:
        """Example turns in the slot format; with similarity selection, *aligned*: slot i of every
        example turn holds a neighbour of text i, the nearest in the last turn. Small models lean on
        the same slot of the previous turn, so alignment puts the most useful label there."""
        single, b = self.single, len(texts)
        if single.selector is not None:
            per_item = single.selector.select_many(texts)  # nearest last
            depth = max(1, single.selector.k // b)
            groups = [[picks[-depth + j] if len(picks) >= depth - j else picks[-1] for picks in per_item]
                      for j in range(depth)]
        else:
            groups = [single.pool[i:i + b] for i in range(0, len(single.pool), b)]
        messages: list[BaseMessage] = []
        for group in groups:
            messages += [HumanMessage(slots_text([t for t, _ in group])), AIMessage(slots_text([lab for _, lab in group]))]
        return messages

    def _size(self, n_items: int, texts: Sequence[str]) -> int:
        if self.batch_size != "auto":
            return max(1, int(self.batch_size))
        single, count = self.single, self.single.llm.get_num_tokens
        fixed = self.prompt.template.invoke({"labels": single.labels.describe(), "examples": [], "texts": ""})
        item = max(count(t) for t in texts) + count(max(single.labels.names, key=len)) + 6
        # Each slot also brings its aligned examples (about two per slot), hence the factor 3.
        return min(n_items, auto_batch_size(single.llm, count(fixed.to_string()), 3 * item))

    def run_chunk(self, texts: list[str], config: RunnableConfig | None) -> list[Classification]:
        single, n = self.single, len(texts)
        values = {"labels": single.labels.describe(), "examples": self._examples(texts), "texts": slots_text(texts)}
        messages = self.prompt.template.invoke(values).to_messages()
        options: dict[str, Any] = {}
        if single.caps.constrained:  # b slots, each decoded over the label set
            options = {"choices": list(single.labels.names), "slots": n}
        reply = single.llm.invoke(messages, config, **options)
        n_in, n_out = _usage(reply)
        answers = parse_slots(str(reply.content), n, single.labels)
        results = []
        for i, text in enumerate(texts):
            share_in, share_out = n_in / n, n_out / n
            if i in answers:
                primary, secondary = single.labels.split(answers[i])
                results.append(Classification(text=text, label=answers[i], primary=primary, secondary=secondary,
                                              input_tokens=round(share_in), output_tokens=round(share_out)))
                continue
            # Missing or invalid slot: re-ask this item alone; it pays for its own re-ask.
            alone = single.classify(text, single.messages(text), config)
            results.append(alone.model_copy(update={"input_tokens": round(share_in) + alone.input_tokens,
                                                    "output_tokens": round(share_out) + alone.output_tokens}))
        return results

    def __call__(self, values: Sequence[Any], config: RunnableConfig) -> list[Classification]:
        texts = batch_texts(values, input_text)
        if self.single.caps.classifies_text:  # an embedding head classifies the texts themselves
            return [self.single.from_head(text) for text in texts]
        return run_in_chunks(texts, self._size(len(texts), texts) if texts else 1, self.run_chunk, config)


def batch_texts(values: Sequence[Any], read: Any) -> list[str]:
    """Validate a batch node's input: a list whose items ``read`` turns into text."""
    if isinstance(values, (str, Mapping)):
        raise TypeError("A batch node takes a list of inputs; use the single-input node for one.")
    return [read(v) for v in values]


def run_in_chunks(texts: list[str], b: int, run_chunk: Any, config: RunnableConfig | None) -> list[Any]:
    """Split ``texts`` into chunks of ``b``, run ``run_chunk`` on each, return results in input order."""
    if not texts:
        return []
    chunks = [texts[i:i + b] for i in range(0, len(texts), b)]
    packed = RunnableLambda(run_chunk, name="batch_prompt")
    # Runnable.batch runs chunks concurrently on remote backends; the local model serialises itself.
    return [result for chunk in packed.batch(chunks, config) for result in chunk]


def batch_classifier(labels: Sequence[str] | type[Enum] | Mapping[str, Sequence[str]] | LabelSet, *,
                     batch_size: int | Literal["auto"] = 4, model: str | BaseChatModel | None = None,
                     examples: Sequence[Any] = (), k: int | None = None, embeddings: Embeddings | None = None,
                     prompt: Prompt = BATCH_CLASSIFY, single_prompt: Prompt = CLASSIFY, retries: int = 1,
                     name: str = "batch_classify") -> Runnable[Sequence[Any], list[Classification]]:
    """Build a node that classifies a list of texts, ``batch_size`` per prompt (``"auto"`` fits the context).

    Items the model leaves out or answers wrongly are re-asked one per prompt with
    ``single_prompt``. Arguments otherwise match :func:`plait.chains.classifier`.
    """
    labelset = label_set(labels)
    pool = as_pairs(examples)
    selector = SimilarExamples(pool, k=k, embeddings=embeddings) if k else None
    single = _Classify(labelset, resolve_model(model, role="classifier"), single_prompt, pool, selector, retries)
    step = _BatchClassify(single, prompt, batch_size)
    return as_node(RunnableLambda(step, name=name), name=name, prompt=prompt)
