"""Text classification: zero- or few-shot, fixed or similarity-chosen examples, valid labels only.

On llama.cpp the answer is decoded over the label set itself (always valid, with a confidence
from the token probabilities); other backends answer in text, which is matched tolerantly and
corrected by a bounded re-ask.

Example:
    >>> from plait.chains import classifier
    >>> classify = classifier(["shipping", "refund", "account"],
    ...                       examples=[("Where is my parcel?", "shipping"), ("Money back please", "refund")])
    >>> classify.invoke("My order is late").label  # doctest: +SKIP
    'shipping'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from pydantic import BaseModel

from plait.chains.examples import SimilarExamples
from plait.chains.labels import LabelSet, as_pairs, label_set, match_label
from plait.chains.prompts import CLASSIFY, CLASSIFY_EXAMPLE, CLASSIFY_RETRY
from plait.chains.inputs import text_field
from plait.errors import OutputParseError
from plait.models import capabilities, resolve_model
from plait.prompts import Prompt, as_node


class Classification(BaseModel):
    """One classified text."""

    text: str
    label: str
    """The label, as emitted (``primary/secondary`` for two-level label sets)."""
    primary: str | None = None
    """Primary category, for two-level label sets."""
    secondary: str | None = None
    """Secondary category, for two-level label sets."""
    confidence: float | None = None
    """Probability of the label from token log-probabilities, where the backend gives them."""
    input_tokens: int = 0
    output_tokens: int = 0


def input_text(value: Any) -> str:
    """Accept a string or a ``{"text": ...}`` mapping; refuse empty text."""
    wrong_type = f"Classification input must be a string or {{'text': str}}, got {type(value).__name__}."
    return text_field(value, "text", empty="Cannot classify empty text; drop empty rows or fill them in first.",
                      wrong_type=wrong_type)


def example_messages(pairs: Sequence[tuple[str, str]]) -> list[BaseMessage]:
    """Render (text, label) examples as alternating human/AI turns."""
    messages: list[BaseMessage] = []
    for text, label in pairs:
        messages += [HumanMessage(CLASSIFY_EXAMPLE.format(text=text)), AIMessage(label)]
    return messages


def _usage(message: AIMessage) -> tuple[int, int]:
    usage = message.usage_metadata or {}
    return usage.get("input_tokens", 0) or 0, usage.get("output_tokens", 0) or 0


def _logprob_confidence(message: AIMessage) -> float | None:
    import math

    content = (message.response_metadata.get("logprobs") or {}).get("content")
    return math.exp(sum(t["logprob"] for t in content)) if content else None


class _Classify:
    """The classification step; a plain callable wrapped as a Runnable by :func:`classifier`."""

    def __init__(self, labels: LabelSet, llm: BaseChatModel, prompt: Prompt, pool: list[tuple[str, str]],
                 selector: SimilarExamples | None, retries: int) -> None:
        self.labels, self.llm, self.prompt, self.retries = labels, llm, prompt, retries
        self.pool, self.selector, self.caps = pool, selector, capabilities(llm)

    def messages(self, text: str, shots: Sequence[tuple[str, str]] | None = None) -> list[BaseMessage]:
        if shots is None:
            shots = self.selector.select(text) if self.selector else self.pool
        values = {"labels": self.labels.describe(), "examples": example_messages(shots), "text": text}
        return self.prompt.template.invoke(values).to_messages()

    def __call__(self, value: Any, config: RunnableConfig) -> Classification:
        text = input_text(value)
        if self.caps.classifies_text:  # an embedding head: no prompt, it reads the text itself
            return self.from_head(text)
        return self.classify(text, self.messages(text), config)

    def from_head(self, text: str) -> Classification:
        label, confidence = self.llm.classify_texts([text])[0]
        if label not in self.labels.names:
            raise OutputParseError(f"The embedding head answered {label!r}, which is not one of this node's labels; "
                                   "train the head on this node's label set.", output=label)
        return self._result(text, label, confidence, 0, 0)

    def classify(self, text: str, messages: list[BaseMessage], config: RunnableConfig | None) -> Classification:
        if self.caps.constrained:  # decoded over the label set: always valid, with a confidence
            reply = self.llm.invoke(messages, config, choices=list(self.labels.names))
            return self._result(text, reply.content, reply.response_metadata.get("confidence"), *_usage(reply))
        spent_in = spent_out = 0
        for _attempt in range(self.retries + 1):
            reply = self.llm.invoke(messages, config)
            n_in, n_out = _usage(reply)
            spent_in, spent_out = spent_in + n_in, spent_out + n_out
            label = match_label(str(reply.content), self.labels)
            if label is not None:
                return self._result(text, label, _logprob_confidence(reply), spent_in, spent_out)
            messages = [*messages, reply, HumanMessage(CLASSIFY_RETRY.format(
                answer=str(reply.content).strip()[:80], labels=self.labels.describe()))]
        raise OutputParseError(f"The model answered {str(reply.content)[:80]!r}, which matches none of "
                               f"{len(self.labels.names)} labels, {self.retries + 1} times. Use a stronger model, "
                               "add examples, or raise retries.", output=str(reply.content))

    def _result(self, text: str, label: str, confidence: float | None, n_in: int, n_out: int) -> Classification:
        primary, secondary = self.labels.split(label)
        return Classification(text=text, label=label, primary=primary, secondary=secondary,
                              confidence=confidence, input_tokens=n_in, output_tokens=n_out)


def classify_messages(labels: Sequence[str] | type[Enum] | Mapping[str, Sequence[str]] | LabelSet, *,
                      examples: Sequence[Any] = (), k: int | None = None, embeddings: Embeddings | None = None,
                      prompt: Prompt = CLASSIFY) -> Any:
    """The messages a :func:`classifier` node sends for a text, as a function ``text -> messages``.

    For requests a node does not send itself (OpenAI's Batch API: ``plait classify --batch-api``).

    Example:
        >>> build = classify_messages(["refund", "shipping"])
        >>> build("Where is my parcel?")[-1].content
        'Text: Where is my parcel?'
    """
    labelset, pool = label_set(labels), as_pairs(examples)
    selector = SimilarExamples(pool, k=k, embeddings=embeddings) if k and pool else None

    def build(text: str) -> list[BaseMessage]:
        shots = selector.select(text) if selector else pool
        values = {"labels": labelset.describe(), "examples": example_messages(shots), "text": text}
        return prompt.template.invoke(values).to_messages()
    return build


def classifier(labels: Sequence[str] | type[Enum] | Mapping[str, Sequence[str]] | LabelSet, *,
               model: str | BaseChatModel | None = None, examples: Sequence[Any] = (), k: int | None = None,
               embeddings: Embeddings | None = None, prompt: Prompt = CLASSIFY, retries: int = 1,
               name: str = "classify") -> Runnable[Any, Classification]:
    """Build a classification node: text (or ``{"text": ...}``) in, :class:`Classification` out.

    ``examples`` are (text, label) pairs; all of them are shown, or with ``k`` the ``k`` most
    similar to each input (embedding similarity). ``model`` is a role, a reference or a chat
    model (default: the ``classifier`` role). ``retries`` bounds re-asks on unknown labels.

    Example:
        >>> classify = classifier({"billing": ["refund", "invoice"], "delivery": ["late", "lost"]},
        ...                       examples=pool, k=8)  # doctest: +SKIP
        >>> classify.invoke("I was charged twice").primary  # doctest: +SKIP
        'billing'
    """
    labelset = label_set(labels)
    pool = as_pairs(examples)
    unknown = sorted({label for _, label in pool} - set(labelset.names))
    if unknown:
        raise ValueError(f"Examples use labels that are not in the label set: {unknown[:5]}. "
                         f"Valid labels: {', '.join(labelset.names[:10])}{'...' if len(labelset.names) > 10 else ''}.")
    if k is not None and not pool:
        raise ValueError("k chooses examples from a pool: pass examples=[(text, label), ...] too.")
    llm = resolve_model(model, role="classifier")
    task = getattr(llm, "adapter_task", None) or {}
    if task.get("prompt") and prompt is CLASSIFY:
        # A fine-tuned adapter answers in the format it was trained on: its own short prompt,
        # no examples (the labels live in its weights).
        prompt, pool, k = Prompt(task.get("prompt_name", "adapter"), ChatPromptTemplate.from_messages(
            [tuple(m) for m in task["prompt"]])), [], None
    selector = SimilarExamples(pool, k=k, embeddings=embeddings) if k else None
    if capabilities(llm).logprobs:
        llm = llm.bind(logprobs=True)  # OpenAI-style backends: confidence from token log-probabilities
    step = _Classify(labelset, llm, prompt, pool, selector, retries)
    return as_node(RunnableLambda(step, name=name), name=name, prompt=prompt)
