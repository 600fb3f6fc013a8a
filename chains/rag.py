"""Retrieval-augmented answers over a Chroma collection, right before fluent.

Three answer modes, chosen with ``mode=``:

- ``"extractive"`` (default): the best answer units (sentences, list items, table rows with their
  header; ``quote_units``, default 3) quoted verbatim with citations. No model call; it cannot
  misquote a number.
- ``"checked"``: the model writes a short answer from the top evidence units only; a
  faithfulness check (:mod:`plait.chains.faithful`) rejects any number, duration or yes/no the
  evidence does not back, and a rejected answer falls back to the verbatim evidence.
- ``"generate"``: the model answers from the retrieved passages, unchecked (for strong models).

The answer records the path taken (``RagAnswer.mode``). When no passage passes the relevance
threshold, or no unit matches the question well enough, the chain says it does not know
instead of letting the model guess. Sources are one per article (its best chunk).

Evidence is ranked by MiniLM and a small linear ranker, or, with ``scorer=``, by an embedding
model adapted to your documents (:mod:`plait.chains.scorer`, trained by
:mod:`plait.chains.scorer_train` on questions about them); a scorer also searches every unit of
the collection itself and brings its own "don't know" threshold. The example help centre ships
one (``plait.agents.help_centre_scorer``).

Example:
    >>> from plait.chains import rag
    >>> answer = rag("helpcentre").invoke("How much is express delivery?")  # doctest: +SKIP
    >>> answer.answer, answer.mode  # doctest: +SKIP
    ('UK delivery prices: Service: Express delivery (next working day); Price: £6.95 [1]', 'extractive')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, get_args

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from pydantic import BaseModel

from plait.chains.evidence import Evidence, UnitVectors, normalise_question, select_evidence, unit_text
from plait.chains.faithful import check_answer
from plait.chains.inputs import text_field
from plait.chains.prompts import DONT_KNOW, RAG, RAG_EVIDENCE, RAG_PASSAGE
from plait.chains.ranker import LinearRanker
from plait.chains.scorer import UnitIndex, UnitScorer, load_scorer
from plait.models import ModelSettings, resolve_model
from plait.prompts import Prompt, as_node
from plait.retrieval import Hit, article_chunks, search, vector_store

Mode = Literal["extractive", "checked", "generate"]
MODES: tuple[str, ...] = get_args(Mode)
DEFAULT_THRESHOLD = 0.35
"""Cosine relevance below which a passage does not count (MiniLM: unrelated text scores ~0-0.3)."""
MIN_SIMILARITY = 0.51
"""Similarity the closest answer unit needs, else "don't know". Tuned on finetune/data/helpcentre_dev.jsonl
(95% of its out-of-scope questions refused, 3 of 96 in scope), never on the evaluation set."""
QUOTE_UNITS = 3
"""Units an extractive answer quotes: the best unit holds the fact 69% of the time, the best three 88%
(dev questions), and a quote cannot misstate what it quotes."""
QUOTE_MARGIN = 0.15
"""With a scorer: how far (in similarity) below the best unit a quoted unit may score. On questions the scorer
never saw (finetune/data, three writers): fact accuracy 87.9% quoting any of the best 3, 88.1% at 0.15, 86.8% at 0.06."""
WHOLE_ARTICLES = 2
"""Articles whose every chunk joins the candidates: the answer to "how long to fix my address?" sat in a
chunk of the right article that ranked below k for 4 of 128 dev questions."""
RAG_STOP = ("\n\n", "\n[")
"""The answer is one paragraph: a blank line or a new numbered passage ends it."""


class Source(BaseModel):
    """An article the answer rests on (its best chunk), numbered as cited."""

    n: int
    source: str
    title: str
    section: str
    score: float
    text: str
    cited: bool = False


class RagAnswer(BaseModel):
    """An answer with the sources it rests on and the path that produced it."""

    question: str
    answer: str
    sources: list[Source]
    knew: bool
    """False when nothing relevant was found and the chain said it does not know."""
    mode: str = "dont_know"
    """extractive | checked (model answer passed the check) | fallback (it failed: evidence given) |
    generated (unchecked) | dont_know."""
    evidence: list[str] = []
    """The answer units the answer rests on, best first."""
    rejected: list[str] = []
    """Why a checked model answer was replaced by the evidence (empty otherwise)."""
    draft: str = ""
    """The model's answer that the check rejected (empty otherwise)."""
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def cited(self) -> list[Source]:
        """Sources the answer cites with [n]."""
        return [s for s in self.sources if s.cited]


def context_text(hits: list[Hit]) -> str:
    """Number the passages for the prompt."""
    return "\n".join(RAG_PASSAGE.format(n=i, heading=" — ".join(p for p in (h.title, h.section) if p),
                                        text=h.text.split("\n", 1)[-1].replace("\n", " "))
                     for i, h in enumerate(hits, 1))


def citations(answer: str, n_sources: int) -> set[int]:
    """Valid citation numbers in ``answer`` ([1], [2, 3] and [1][2] forms)."""
    numbers = {int(n) for group in re.findall(r"\[(\d+(?:\s*,\s*\d+)*)\]", answer) for n in group.split(",")}
    return {n for n in numbers if 1 <= n <= n_sources}


def best_per_article(hits: list[Hit]) -> list[Hit]:
    """One hit per source, its best chunk, in order of relevance."""
    seen: dict[str, Hit] = {}
    for hit in hits:
        seen.setdefault(hit.source, hit)
    return list(seen.values())


def quote(units: list[Evidence], number: dict[str, int]) -> str:
    """Units verbatim, each source cited once at the end: 'Express ...: £6.95 [1]'."""
    cited = sorted({number[u.hit.source] for u in units})
    return " ".join(u.quote() for u in units) + " " + "".join(f"[{n}]" for n in cited)


@dataclass(frozen=True)
class _Rag:
    store: Any
    llm: BaseChatModel | None
    prompt: Prompt
    mode: str
    k: int
    threshold: float
    min_similarity: float
    quote_units: int
    mmr: bool
    settings: ModelSettings
    vectors: UnitVectors
    ranker: LinearRanker | None
    scorer: UnitScorer | None
    whole_articles: int
    index: UnitIndex | None
    quote_margin: float

    def __call__(self, value: Any, config: RunnableConfig) -> RagAnswer:
        question = text_field(value, "question",
                              empty="RAG needs a non-empty question (a string or {'question': ...}).")
        query = normalise_question(question)
        where = value.get("filter") if isinstance(value, Mapping) else None  # e.g. {"source": {"$in": [...]}}
        hits = search(query, store=self.store, k=self.k, threshold=self.threshold, mmr=self.mmr, filter=where)
        siblings = article_chunks(hits, store=self.store, articles=self.whole_articles) if self.whole_articles else []
        # The scorer also looks through every unit itself; not under a filter, which only Chroma evaluates.
        found = self.index.nearest(query) if self.index is not None and not where else []
        selection = select_evidence(query, hits + siblings + found, vectors=self.vectors, ranker=self.ranker,
                                    by_similarity=self.scorer is not None)
        evidence = selection.units
        if not evidence or selection.best_similarity < self.min_similarity:
            return RagAnswer(question=question, answer=DONT_KNOW, sources=[], knew=False)
        focus = value.get("focus") if isinstance(value, Mapping) else None
        if focus:  # a follow-up searched with its context: the context finds the units, the follow-up picks one
            evidence = self._refocus(evidence, normalise_question(str(focus)))
        articles = best_per_article(hits + [e.hit for e in evidence])
        number = {h.source: i for i, h in enumerate(articles, 1)}
        # Units far behind the best are left out: a neighbouring table row quoted "just in case" states a wrong price.
        units = [e for e in evidence[:self.quote_units] if e.score >= evidence[0].score - self.quote_margin]
        answer = {"question": question, "knew": True, "evidence": [e.text for e in evidence]}
        if self.mode == "extractive":
            return self._answer(articles, quote(units, number), "extractive", answer)
        if self.mode == "generate":
            passages = context_text(articles)
            reply = self._reply({"context": passages, "question": question}, config)
            return self._answer(articles, str(reply.content).strip(), "generated", answer, reply)
        lines = "\n".join(f"[{number[e.hit.source]}] {e.heading}: {e.text}" for e in evidence)
        reply = self._reply({"evidence": lines, "question": question}, config)
        text = str(reply.content).strip()
        verdict = check_answer(text, [e.quote() for e in evidence])
        if verdict.ok:
            cite = "" if citations(text, len(articles)) else f" [{number[evidence[0].hit.source]}]"
            return self._answer(articles, text + cite, "checked", answer, reply)
        return self._answer(articles, quote(units, number), "fallback",
                            {**answer, "rejected": verdict.reasons, "draft": text}, reply)

    def _refocus(self, evidence: list[Evidence], focus: str) -> list[Evidence]:
        """``evidence`` scored and ordered by similarity to ``focus`` instead of the question."""
        scores = self.vectors([unit_text(e.text, e.hit) for e in evidence]) @ self.vectors.query(focus)
        return [replace(e, score=round(float(score), 4)) for score, e in
                sorted(zip(scores, evidence), key=lambda pair: -pair[0])]

    def _reply(self, variables: dict[str, str], config: RunnableConfig) -> Any:
        messages = self.prompt.template.invoke(variables).to_messages()
        return self.llm.invoke(messages, config, **self.settings.options())

    @staticmethod
    def _answer(articles: list[Hit], text: str, mode: str, fields: dict[str, Any], reply: Any = None) -> RagAnswer:
        cited = citations(text, len(articles))
        usage = (reply.usage_metadata if reply is not None else None) or {}
        sources = [Source(n=i, source=h.source, title=h.title, section=h.section, score=h.score, text=h.text,
                          cited=i in cited) for i, h in enumerate(articles, 1)]
        return RagAnswer(answer=text, sources=sources, mode=mode, input_tokens=usage.get("input_tokens", 0),
                         output_tokens=usage.get("output_tokens", 0), **fields)


def rag(collection: str | None = None, *, store: Any = None, model: str | BaseChatModel | None = None,
        mode: Mode = "extractive", k: int = 6, threshold: float = DEFAULT_THRESHOLD,
        min_similarity: float | None = None, quote_units: int = QUOTE_UNITS, ranker: LinearRanker | None = None,
        scorer: UnitScorer | str | Path | None = None, whole_articles: int = WHOLE_ARTICLES,
        quote_margin: float | None = None, mmr: bool = False, max_tokens: int = 160, prompt: Prompt | None = None,
        name: str = "rag") -> Runnable[Any, RagAnswer]:
    """Build a RAG node: question in, :class:`RagAnswer` (answer, numbered sources, mode) out.

    ``collection`` names a Chroma collection (or pass ``store``); ``mode`` picks the answer path
    (see the module docs); ``model`` defaults to the ``answerer`` role and is loaded only for the
    ``checked`` and ``generate`` modes; ``k`` chunks are searched for evidence; ``threshold`` is
    the minimum cosine relevance of a chunk and ``min_similarity`` that of the closest answer
    unit (default: the scorer's, else :data:`MIN_SIMILARITY`); ``quote_units`` is how many units an
    extractive answer (or a fallback) quotes; ``ranker`` replaces the packaged evidence ranker (one
    trained on your questions, ``LinearRanker.load(path)``); ``scorer`` (a :class:`UnitScorer` or its
    folder, see :mod:`plait.chains.scorer`) ranks units by an embedding model adapted to your documents
    instead; the chunks of the ``whole_articles`` best articles join the retrieved ones as candidates;
    a quoted unit must score within ``quote_margin`` of the best one (default: :data:`QUOTE_MARGIN`
    with a scorer, none with the ranker, whose scores are probabilities).

    The input is the question, or ``{"question": ..., "filter": WHERE}`` to search only chunks whose
    metadata match a Chroma ``where`` clause (``{"source": {"$in": [...]}}``: some articles). With
    ``"focus": TEXT`` (a follow-up such as "and next day?", when ``question`` is it with the previous
    message), the question finds the evidence and decides "don't know", and the units are then ordered
    by how close they are to the follow-up alone.

    Example:
        >>> rag("helpcentre", mode="checked").invoke("can i pay with bitcoin?").mode  # doctest: +SKIP
        'fallback'
    """
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not an answer mode; use one of {', '.join(MODES)}.")
    store = store if store is not None else vector_store(collection)
    prompt = prompt or (RAG if mode == "generate" else RAG_EVIDENCE)
    llm = None if mode == "extractive" else resolve_model(model, role="answerer")
    if scorer is not None and not isinstance(scorer, UnitScorer):
        scorer = load_scorer(scorer)
    if min_similarity is None:
        min_similarity = scorer.min_similarity if scorer else MIN_SIMILARITY
    vectors = scorer.vectors if scorer else UnitVectors(store.embeddings)
    step = _Rag(store, llm, prompt, mode, k, threshold, min_similarity, quote_units, mmr,
                ModelSettings(max_tokens=max_tokens, stop=RAG_STOP), vectors, ranker, scorer, whole_articles,
                UnitIndex(store, vectors) if scorer else None,
                quote_margin if quote_margin is not None else QUOTE_MARGIN if scorer else 1.0)
    return as_node(RunnableLambda(step, name=name), name=name, prompt=None if mode == "extractive" else prompt)
