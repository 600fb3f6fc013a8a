"""Chain-of-thought: few-shot reasoning whose reasoning and answer come back as typed fields.

On llama.cpp a grammar fixes the shape (reasoning, then ``Answer:`` and an answer of the right
type), so extraction cannot fail; elsewhere a tolerant extractor reads messy text. With
``samples > 1`` it samples several chains and takes the majority answer (self-consistency,
Wang et al. 2023).

Example:
    >>> from plait.chains import chain_of_thought
    >>> solve = chain_of_thought(answer_type=int)
    >>> solve.invoke("I have 3 boxes of 4 eggs and eat 2. How many eggs are left?").answer  # doctest: +SKIP
    10
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from pydantic import BaseModel

from plait.chains.inputs import text_field
from plait.chains.prompts import COT, COT_EXAMPLE_ANSWER, COT_EXAMPLE_QUESTION, COT_EXAMPLES
from plait.errors import OutputParseError
from plait.models import ModelSettings, capabilities, resolve_model
from plait.models.settings import FREE_TEXT
from plait.prompts import Prompt, as_node

# Markers after which the rest of the line is the answer; the last one that converts wins.
_ANSWER_MARKERS = (
    re.compile(r"(?:final answer|answer)\s*(?:is)?\s*[:=]\s*", re.I),
    re.compile(r"the answer is\s+", re.I),
    re.compile(r"^####\s*", re.M),
    re.compile(r"\\boxed\{(?=[^}]*\})"),
)
COT_STOP = ("\nQuestion:",)
"""Where the model starts a next few-shot question of its own: the answer has ended."""
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_GRAMMARS = {
    int: 'root ::= reasoning "\\nAnswer: " "-"? [0-9]{1,12}\nreasoning ::= [^\\n]{1,600}',
    float: 'root ::= reasoning "\\nAnswer: " "-"? [0-9]{1,12} ("." [0-9]{1,6})?\nreasoning ::= [^\\n]{1,600}',
    str: 'root ::= reasoning "\\nAnswer: " [^\\n]{1,120}\nreasoning ::= [^\\n]{1,600}',
}


class Thought(BaseModel):
    """A reasoned answer."""

    question: str
    reasoning: str
    answer: Any
    """The final answer, converted to the requested type."""
    votes: dict[str, int] | None = None
    """Answer -> number of samples that reached it, with self-consistency."""
    input_tokens: int = 0
    output_tokens: int = 0


def convert(text: str, answer_type: type) -> Any:
    """Convert an answer string to ``answer_type`` (numbers are pulled out of surrounding words)."""
    text = text.strip().strip("*.").strip()
    if answer_type is str:
        if not text:
            raise ValueError("empty answer")
        return text
    match = _NUMBER.search(text)
    if not match:
        raise ValueError(f"no number in {text!r}")
    number = float(match.group().replace(",", ""))
    return int(number) if answer_type is int and number.is_integer() else answer_type(number)


def extract_answer(text: str, answer_type: type = str) -> tuple[str, Any]:
    """Split model text into (reasoning, typed answer), tolerating messy output.

    Example:
        >>> extract_answer("So 4 x 2 = 8.\\n**Answer:** $8.", int)
        ('So 4 x 2 = 8.', 8)
    """
    cleaned = text.replace("**", "").strip()
    for marker in _ANSWER_MARKERS:
        for match in reversed(list(marker.finditer(cleaned))):  # the last stated answer wins
            rest = (cleaned[match.end():].splitlines() or [""])[0].split("}")[0]
            try:
                answer = convert(rest, answer_type)
            except ValueError:
                continue
            return cleaned[: match.start()].strip(), answer
    lines = [line for line in cleaned.splitlines() if line.strip()]
    if lines:
        try:
            return "\n".join(lines[:-1]).strip(), convert(lines[-1], answer_type)
        except ValueError:
            pass
    raise OutputParseError(f"No {answer_type.__name__} answer found in the model's text; ask for an "
                           "'Answer:' line in the prompt or use a stronger model.", output=text)


class _ChainOfThought:
    def __init__(self, llm: BaseChatModel, prompt: Prompt, examples: Sequence[tuple[str, str, str]],
                 answer_type: type, samples: int, temperature: float, max_tokens: int) -> None:
        self.llm, self.prompt, self.answer_type = llm, prompt, answer_type
        self.samples, self.caps = samples, capabilities(llm)
        self.settings = ModelSettings(stop=COT_STOP, temperature=temperature if samples > 1 else None)
        if self.caps.constrained:  # reasoning is free text under the grammar: keep it from looping
            self.settings = self.settings.merged_with(FREE_TEXT).merged_with(ModelSettings(max_tokens=max_tokens))
        self.shots: list[BaseMessage] = []
        for question, reasoning, answer in examples:
            self.shots += [HumanMessage(COT_EXAMPLE_QUESTION.format(question=question)),
                           AIMessage(COT_EXAMPLE_ANSWER.format(reasoning=reasoning, answer=answer))]

    def _options(self, seed: int) -> dict[str, Any]:
        if not self.caps.constrained:
            return self.settings.options()
        grammar = _GRAMMARS.get(self.answer_type, _GRAMMARS[str])
        return {**self.settings.merged_with(ModelSettings(seed=seed)).options(), "grammar": grammar}

    def __call__(self, value: Any, config: RunnableConfig) -> Thought:
        question = text_field(value, "question",
                              empty="Chain-of-thought needs a non-empty question (a string or {'question': ...}).")
        messages = self.prompt.template.invoke({"examples": self.shots, "question": question}).to_messages()
        answers: list[tuple[str, Any]] = []
        n_in = n_out = 0
        last_text = ""
        for seed in range(self.samples):
            reply = self.llm.invoke(messages, config, **self._options(seed))
            usage = reply.usage_metadata or {}
            n_in, n_out = n_in + usage.get("input_tokens", 0), n_out + usage.get("output_tokens", 0)
            last_text = str(reply.content)
            try:
                answers.append(extract_answer(last_text, self.answer_type))
            except OutputParseError:
                continue  # with several samples, an unreadable one is just a lost vote
        if not answers:
            raise OutputParseError(f"None of {self.samples} sample(s) had a readable answer.", output=last_text)
        votes = Counter(str(answer) for _, answer in answers)
        winner = votes.most_common(1)[0][0]
        reasoning, answer = next(pair for pair in answers if str(pair[1]) == winner)
        return Thought(question=question, reasoning=reasoning, answer=answer,
                       votes=dict(votes) if self.samples > 1 else None, input_tokens=n_in, output_tokens=n_out)


def chain_of_thought(*, model: str | BaseChatModel | None = None,
                     examples: Sequence[tuple[str, str, str]] = COT_EXAMPLES, answer_type: type = str,
                     samples: int = 1, temperature: float = 0.7, max_tokens: int = 256, prompt: Prompt = COT,
                     name: str = "cot") -> Runnable[Any, Thought]:
    """Build a chain-of-thought node: question in, :class:`Thought` (reasoning + typed answer) out.

    ``examples`` are (question, reasoning, answer) triples. ``answer_type`` is ``str``, ``int``
    or ``float``. ``samples > 1`` turns on self-consistency at ``temperature``.
    """
    if answer_type not in (str, int, float):
        raise ValueError(f"answer_type must be str, int or float, got {answer_type!r}.")
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}.")
    step = _ChainOfThought(resolve_model(model, role="reasoner"), prompt, examples, answer_type, samples,
                           temperature, max_tokens)
    return as_node(RunnableLambda(step, name=name), name=name, prompt=prompt)
