"""Retrieval-augmented generation over a Chroma collection: answer with numbered citations.

When no passage passes the relevance threshold, the chain says it does not know instead of
letting the model invent an answer (and spends no model call).

Example:
    >>> from plait.chains import rag
    >>> answer = rag("helpcentre").invoke("How long do refunds take?")  # doctest: +SKIP
    >>> answer.answer, [s.title for s in answer.sources]  # doctest: +SKIP
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from pydantic import BaseModel

from plait.chains.inputs import text_field
from plait.chains.prompts import DONT_KNOW, RAG, RAG_PASSAGE
from plait.models import ModelSettings, resolve_model
from plait.prompts import Prompt, as_node
from plait.retrieval import Hit, search, vector_store

DEFAULT_THRESHOLD = 0.35
"""Cosine relevance below which a passage does not count (MiniLM: unrelated text scores ~0-0.3)."""
RAG_STOP = ("\n\n", "\n[")
"""The answer is one paragraph: a blank line or a new numbered passage ends it."""


class Source(BaseModel):
    """A passage given to the model, numbered as in the prompt."""

    n: int
    source: str
    title: str
    section: str
    score: float
    text: str
    cited: bool = False


class RagAnswer(BaseModel):
    """An answer with the passages it rests on."""

    question: str
    answer: str
    sources: list[Source]
    knew: bool
    """False when nothing relevant was found and the chain said it does not know."""
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def cited(self) -> list[Source]:
        """Sources the answer cites with [n]."""
        return [s for s in self.sources if s.cited]


def context_text(hits: list[Hit]) -> str:
    """Number the passages for the prompt."""
    return "\n".join(RAG_PASSAGE.format(n=i, heading=" — ".join(p for p in (h.title, h.section) if p),
                                        text=h.text.split("\n", 1)[-1]) for i, h in enumerate(hits, 1))


def citations(answer: str, n_sources: int) -> set[int]:
    """Valid citation numbers in ``answer`` ([1], [2, 3] and [1][2] forms)."""
    numbers = {int(n) for group in re.findall(r"\[(\d+(?:\s*,\s*\d+)*)\]", answer) for n in group.split(",")}
    return {n for n in numbers if 1 <= n <= n_sources}


class _Rag:
    def __init__(self, store: Any, llm: BaseChatModel, prompt: Prompt, k: int, threshold: float, mmr: bool,
                 max_tokens: int) -> None:
        self.store, self.llm, self.prompt = store, llm, prompt
        self.k, self.threshold, self.mmr = k, threshold, mmr
        self.settings = ModelSettings(max_tokens=max_tokens, stop=RAG_STOP)

    def __call__(self, value: Any, config: RunnableConfig) -> RagAnswer:
        question = text_field(value, "question",
                              empty="RAG needs a non-empty question (a string or {'question': ...}).")
        hits = search(question, store=self.store, k=self.k, threshold=self.threshold, mmr=self.mmr)
        if not hits:
            return RagAnswer(question=question, answer=DONT_KNOW, sources=[], knew=False)
        messages = self.prompt.template.invoke({"context": context_text(hits), "question": question}).to_messages()
        reply = self.llm.invoke(messages, config, **self.settings.options())
        text = str(reply.content).strip()
        cited = citations(text, len(hits))
        usage = reply.usage_metadata or {}
        sources = [Source(n=i, source=h.source, title=h.title, section=h.section, score=h.score,
                          text=h.text, cited=i in cited) for i, h in enumerate(hits, 1)]
        return RagAnswer(question=question, answer=text, sources=sources, knew=True,
                         input_tokens=usage.get("input_tokens", 0), output_tokens=usage.get("output_tokens", 0))


def rag(collection: str | None = None, *, store: Any = None, model: str | BaseChatModel | None = None, k: int = 4,
        threshold: float = DEFAULT_THRESHOLD, mmr: bool = False, max_tokens: int = 160, prompt: Prompt = RAG,
        name: str = "rag") -> Runnable[Any, RagAnswer]:
    """Build a RAG node: question in, :class:`RagAnswer` (answer, numbered sources) out.

    ``collection`` names a Chroma collection (or pass ``store``); ``model`` defaults to the
    ``answerer`` role; ``threshold`` is the minimum cosine relevance of a passage.
    """
    store = store if store is not None else vector_store(collection)
    step = _Rag(store, resolve_model(model, role="answerer"), prompt, k, threshold, mmr, max_tokens)
    return as_node(RunnableLambda(step, name=name), name=name, prompt=prompt)
