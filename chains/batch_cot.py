"""Batch prompting for chain-of-thought: b questions per prompt, one numbered reasoning line each.

Example:
    >>> from plait.chains import batch_chain_of_thought
    >>> solve = batch_chain_of_thought(answer_type=int, batch_size=4)
    >>> [t.answer for t in solve.invoke(["2+2?", "3*3?"])]  # doctest: +SKIP
    [4, 9]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from plait.chains.batch import batch_texts, run_in_chunks, slots_text
from plait.chains.cot import _GRAMMARS, COT_STOP, Thought, _ChainOfThought, extract_answer
from plait.chains.inputs import text_field
from plait.chains.prompts import BATCH_COT, BATCH_COT_SLOT, COT, COT_EXAMPLES
from plait.errors import OutputParseError
from plait.models import ModelSettings, resolve_model
from plait.models.settings import FREE_TEXT
from plait.prompts import Prompt, as_node

_SLOT_START = re.compile(r"^\s*(\d+)[.)]\s*", re.M)


def split_slots(text: str, n: int) -> dict[int, str]:
    """Return {slot index (0-based): slot text}; a slot runs until the next numbered line."""
    starts = list(_SLOT_START.finditer(text))
    slots: dict[int, str] = {}
    for i, match in enumerate(starts):
        index = int(match.group(1)) - 1
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        if 0 <= index < n and index not in slots:
            slots[index] = text[match.end():end].strip()
    return slots


def slots_grammar(n: int, answer_type: type) -> str:
    """Grammar for ``n`` numbered lines of ``reasoning Answer: answer``."""
    single = _GRAMMARS[answer_type]
    answer_rule = single.split('"\\nAnswer: " ', 1)[1].split("\n", 1)[0]
    lines = ' "\\n" '.join(f'"{i}. " line' for i in range(1, n + 1))
    # Short reasoning lines keep b slots inside the token budget (a long one would crowd out the rest).
    return f'root ::= " "? {lines}\nline ::= reasoning " Answer: " {answer_rule}\nreasoning ::= [^\\n]{{1,240}}'


def _question(value: Any) -> str:
    return text_field(value, "question", empty="Every question in the batch must be non-empty text.")


class _BatchCoT:
    def __init__(self, single: _ChainOfThought, prompt: Prompt, examples: Sequence[tuple[str, str, str]],
                 batch_size: int, max_tokens_per_item: int) -> None:
        self.single, self.prompt, self.batch_size, self.max_tokens = single, prompt, batch_size, max_tokens_per_item
        self.settings = ModelSettings(stop=COT_STOP)
        if single.caps.constrained:  # reasoning lines are free text under the grammar: keep them from looping
            self.settings = self.settings.merged_with(FREE_TEXT)
        self.shots: list[BaseMessage] = []
        if examples:
            self.shots = [HumanMessage(slots_text([q for q, _, _ in examples])),
                          AIMessage(slots_text([BATCH_COT_SLOT.format(reasoning=r, answer=a) for _, r, a in examples]))]

    def run_chunk(self, questions: list[str], config: RunnableConfig | None) -> list[Thought]:
        single, n = self.single, len(questions)
        messages = self.prompt.template.invoke({"examples": self.shots, "questions": slots_text(questions)}).to_messages()
        options: dict[str, Any] = self.settings.options()
        if single.caps.constrained:
            budget = ModelSettings(max_tokens=self.max_tokens * n)
            options = {**self.settings.merged_with(budget).options(), "grammar": slots_grammar(n, single.answer_type)}
        reply = single.llm.invoke(messages, config, **options)
        usage = reply.usage_metadata or {}
        share_in, share_out = usage.get("input_tokens", 0) / n, usage.get("output_tokens", 0) / n
        slots, results = split_slots(str(reply.content), n), []
        for i, question in enumerate(questions):
            try:
                reasoning, answer = extract_answer(slots.get(i, ""), single.answer_type)
                if not reasoning:
                    raise OutputParseError("slot has an answer but no reasoning", output=slots.get(i, ""))
                results.append(Thought(question=question, reasoning=reasoning, answer=answer,
                                       input_tokens=round(share_in), output_tokens=round(share_out)))
            except OutputParseError:  # missing or unreadable slot: ask this question alone
                alone = single(question, config)
                results.append(alone.model_copy(update={"input_tokens": round(share_in) + alone.input_tokens,
                                                        "output_tokens": round(share_out) + alone.output_tokens}))
        return results

    def __call__(self, values: Sequence[Any], config: RunnableConfig) -> list[Thought]:
        return run_in_chunks(batch_texts(values, _question), self.batch_size, self.run_chunk, config)


def batch_chain_of_thought(*, batch_size: int = 4, model: str | BaseChatModel | None = None,
                           examples: Sequence[tuple[str, str, str]] = COT_EXAMPLES, answer_type: type = str,
                           max_tokens_per_item: int = 160, prompt: Prompt = BATCH_COT, single_prompt: Prompt = COT,
                           name: str = "batch_cot") -> Runnable[Sequence[Any], list[Thought]]:
    """Build a node that answers a list of questions with reasoning, ``batch_size`` per prompt.

    Unanswered or unreadable slots are re-asked alone with ``single_prompt``.
    """
    if answer_type not in _GRAMMARS:
        raise ValueError(f"answer_type must be str, int or float, got {answer_type!r}.")
    single = _ChainOfThought(resolve_model(model, role="reasoner"), single_prompt, examples, answer_type, 1, 0.0,
                             max_tokens_per_item)
    step = _BatchCoT(single, prompt, examples, max(1, batch_size), max_tokens_per_item)
    return as_node(RunnableLambda(step, name=name), name=name, prompt=prompt)
