"""The customer-service assistant: a LangGraph graph of plait nodes.

    moderate input -> classify (primary/secondary) -> help_centre (RAG) | orders (order tools)
                   | chit_chat | handoff (summary for a colleague) -> check output -> reply

Every model-using node takes its model by role (``classifier``, ``answerer``, ``responder``,
``summarizer``), so each can be swapped in ``plait.toml``.

Example:
    >>> from plait.agents.support import support_assistant
    >>> assistant = support_assistant()                               # doctest: +SKIP
    >>> assistant.invoke({"message": "Where is my order A1002?"})["answer"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import operator
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from plait.agents.helpcentre import help_centre_store
from plait.agents.prompts import (BLOCKED_REPLY, CANCEL_REPLY, FALLBACK_REPLY, HANDOFF_REPLY, ORDER_NEEDS_ID,
                                  ORDER_REPLY, ORDER_TRACKING, SUPPORT_CHAT, SUPPORT_EXAMPLES, SUPPORT_HANDOFF,
                                  SUPPORT_LABELS)
from plait.chains import classifier, moderator, rag
from plait.chains.rag import Mode
from plait.models import resolve_model
from plait.models.settings import SHORT_REPLY
from plait.prompts import as_node
from plait.tools import order_tools

ORDER_ID = re.compile(r"\b([A-Za-z]\d{4})\b")


class SupportState(TypedDict, total=False):
    """What flows through the assistant; ``message`` in, ``answer`` out."""

    message: str
    moderation: dict[str, Any]
    """The input's moderation decision (``Moderation.model_dump()``: plain data checkpoints cleanly)."""
    route: str
    topic: str
    answer: str
    sources: list[dict[str, Any]]
    tool_calls: Annotated[list[dict[str, Any]], operator.add]
    summary: str
    checks: Annotated[list[str], operator.add]
    answer_mode: str
    """How a help-centre answer was made: extractive | checked | fallback | generated (see plait.chains.rag)."""
    seconds: Annotated[dict[str, float], operator.or_]


def timed(name: str, node: Callable[[SupportState], dict[str, Any]]) -> Callable[[SupportState], dict[str, Any]]:
    """Wrap a node so its wall time lands in ``state["seconds"][name]``."""
    def run(state: SupportState) -> dict[str, Any]:
        started = time.perf_counter()
        update = node(state)
        return {**update, "seconds": {name: round(time.perf_counter() - started, 3)}}
    return run


def _order_node(db: str | Path | None) -> Callable[[SupportState], dict[str, Any]]:
    lookup = order_tools(db)[0]

    def orders(state: SupportState) -> dict[str, Any]:
        match = ORDER_ID.search(state["message"])
        if match is None:
            return {"answer": ORDER_NEEDS_ID}
        order_id = match.group(1).upper()
        if state.get("topic") == "cancel_order":
            return {"answer": CANCEL_REPLY.format(id=order_id), "summary": f"Customer asks to cancel {order_id}."}
        result = lookup.invoke({"order_id": order_id})
        call = {"tool": lookup.name, "args": {"order_id": order_id}, "result": result}
        try:
            order = json.loads(result)
        except json.JSONDecodeError:  # the tool explained why it found nothing
            return {"answer": result, "tool_calls": [call]}
        tracking = ORDER_TRACKING.format(**order) if order.get("tracking") else ""
        answer = ORDER_REPLY.format(**{**order, "tracking": tracking, "items": ", ".join(order["items"])})
        return {"answer": answer, "tool_calls": [call]}

    return orders


def support_assistant(*, collection: str = "helpcentre", store: Any = None, db: str | Path | None = None,
                      classifier_model: str | BaseChatModel | None = None, answerer: str | BaseChatModel | None = None,
                      responder: str | BaseChatModel | None = None, summarizer: str | BaseChatModel | None = None,
                      k: int = 6, answer_mode: Mode = "extractive", route_examples: int = 6,
                      checkpointer: Any = None) -> Any:
    """Build the compiled support graph. Models default to the roles of the same names.

    ``k`` is the number of help-centre chunks searched for evidence and ``answer_mode`` the RAG
    answer path (``extractive`` quotes the help centre; ``checked`` lets the answerer write under a
    faithfulness check); ``route_examples`` the number of most similar labelled messages the router is shown.
    """
    check = moderator()
    route_classifier = classifier(SUPPORT_LABELS, model=classifier_model, examples=SUPPORT_EXAMPLES, k=route_examples,
                                  name="route")
    answer_from_kb = rag(collection, store=store, model=answerer, k=k, mode=answer_mode)
    chat = as_node(SUPPORT_CHAT.template | resolve_model(responder, role="responder", **SHORT_REPLY.options())
                   .bind(stop=["\n"]) | StrOutputParser(), name="chit_chat", prompt=SUPPORT_CHAT)
    summarise = as_node(SUPPORT_HANDOFF.template | resolve_model(summarizer, role="summarizer", **SHORT_REPLY.options())
                        .bind(stop=["\n"]) | StrOutputParser(), name="handoff", prompt=SUPPORT_HANDOFF)

    def moderate_input(state: SupportState) -> dict[str, Any]:
        return {"moderation": check.invoke(state["message"]).model_dump()}

    def classify(state: SupportState) -> dict[str, Any]:
        result = route_classifier.invoke(state["message"])
        return {"route": result.primary, "topic": result.secondary}

    def help_centre(state: SupportState) -> dict[str, Any]:
        result = answer_from_kb.invoke(state["message"])
        if not result.knew:
            return {"answer": FALLBACK_REPLY, "checks": ["no relevant help-centre article"], "route": "handoff"}
        sources = [{"n": s.n, "title": s.title, "source": Path(s.source).name, "score": s.score, "cited": s.cited}
                   for s in result.sources]
        return {"answer": result.answer, "sources": sources, "answer_mode": result.mode}

    def chit_chat(state: SupportState) -> dict[str, Any]:
        return {"answer": chat.invoke({"message": state["message"]}).strip()}

    def handoff(state: SupportState) -> dict[str, Any]:
        return {"answer": HANDOFF_REPLY, "summary": summarise.invoke({"message": state["message"]}).strip()}

    def blocked(state: SupportState) -> dict[str, Any]:
        return {"route": "blocked", "answer": BLOCKED_REPLY}

    def check_output(state: SupportState) -> dict[str, Any]:
        answer = state.get("answer", "").strip()
        if not answer:
            return {"answer": FALLBACK_REPLY, "checks": ["empty answer replaced"]}
        verdict = check.invoke(answer)
        if verdict.blocked:
            return {"answer": FALLBACK_REPLY, "checks": [f"answer blocked by moderation: {verdict.categories}"]}
        if state.get("route") == "help_centre" and not state.get("sources"):
            return {"answer": FALLBACK_REPLY, "checks": ["ungrounded answer replaced"]}
        return {"checks": ["output ok"]}

    graph = StateGraph(SupportState)
    for name, node in [("moderate_input", moderate_input), ("classify", classify), ("blocked", blocked),
                       ("help_centre", help_centre), ("orders", _order_node(db)), ("chit_chat", chit_chat),
                       ("handoff", handoff), ("check_output", check_output)]:
        graph.add_node(name, timed(name, node))
    graph.add_edge(START, "moderate_input")
    graph.add_conditional_edges("moderate_input", lambda s: "blocked" if s["moderation"]["decision"] == "block" else "classify",
                                ["blocked", "classify"])
    graph.add_conditional_edges("classify", lambda s: s["route"], ["help_centre", "orders", "chit_chat", "handoff"])
    for name in ("blocked", "help_centre", "orders", "chit_chat", "handoff"):
        graph.add_edge(name, "check_output")
    graph.add_edge("check_output", END)
    return graph.compile(checkpointer=checkpointer, name="support")


def graph() -> Any:
    """Entry point for ``langgraph.json`` (LangGraph's own tooling): over the example help centre."""
    return support_assistant(store=help_centre_store())
