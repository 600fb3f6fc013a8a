"""The customer-service assistant: a LangGraph graph of plait nodes, with memory per thread.

    start -> moderate input -> blocked
                            -> confirm (a yes/no to "Shall I cancel it?"; a person approves) -> ...
                            -> route (embedding head) -> help_centre (grounded RAG) | orders (order tools)
                                                      | chit_chat | handoff | clarify (not sure: ask)
          -> check output -> remember (bounded history, order under discussion) -> reply

The router is the ``router`` role (offline: the packaged embedding head ``lora:support-router``,
trained on ``agents/data/support_routes.jsonl``); messages it is not sure about get a clarifying
question, and a second unclear one a colleague. With a checkpointer, a thread remembers the
order under discussion ("cancel it"), its history (the hand-off summary covers it) and a
cancellation waiting for the customer's yes; with ``approval`` a person approves it first
(LangGraph interrupt; resume with ``Command(resume="approve")``).

Example:
    >>> from langgraph.types import Command
    >>> from plait.agents import sqlite_checkpointer
    >>> from plait.agents.support import support_assistant
    >>> bot = support_assistant(checkpointer=sqlite_checkpointer(".plait/threads.db"))  # doctest: +SKIP
    >>> thread = {"configurable": {"thread_id": "t1"}}
    >>> bot.invoke({"message": "Please cancel A1003"}, thread)["answer"]  # doctest: +SKIP
    'Order A1003 (1 x Cast-iron casserole 24 cm, £129.00) hasn't shipped yet, ... Shall I cancel it? ...'
    >>> bot.invoke({"message": "yes"}, thread)["__interrupt__"]  # a person is asked  # doctest: +SKIP
    >>> bot.invoke(Command(resume="approve"), thread)["answer"]  # doctest: +SKIP
    'Done: order A1003 is cancelled. ...'
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from plait.agents.helpcentre import help_centre_store
from plait.agents.prompts import (BLOCKED_REPLY, CLARIFY_REPLY, FALLBACK_REPLY, HANDOFF_REPLY, SUPPORT_CHAT,
                                  SUPPORT_EXAMPLES, SUPPORT_HANDOFF, SUPPORT_LABELS)
from plait.agents.support_orders import ORDER_ID, OrderDesk, confirm_node, order_id_in, orders_node, yes_or_no
from plait.agents.support_routing import CONFIDENCE, CONTINUED, ROUTES_FILE, read_routes, route_message, router_model
from plait.agents.support_turns import chat_check, handoff_summary, orders_mentioned, remember, template_chat
from plait.chains import classifier, moderator, rag
from plait.chains.rag import Mode
from plait.models import resolve_model
from plait.models.settings import SHORT_REPLY
from plait.prompts import as_node

Chat = Literal["template", "generate"]
Summary = Literal["transcript", "model"]


def _turn_list(left: list | None, right: list | None) -> list:
    """Lists that grow within a turn and start empty each turn (``start`` sends None)."""
    return [] if right is None else [*(left or []), *right]


def _turn_dict(left: dict | None, right: dict | None) -> dict:
    return {} if right is None else {**(left or {}), **right}


class SupportState(TypedDict, total=False):
    """What flows through the assistant; ``message`` in, ``answer`` out. The last four fields outlive a turn."""

    message: str
    moderation: dict[str, Any]
    """The input's moderation decision (``Moderation.model_dump()``: plain data checkpoints cleanly)."""
    route: str
    """The action taken: help_centre, order_status, cancel_order, chit_chat, handoff, clarify or blocked."""
    label: str
    """The router's ``primary/topic`` label."""
    topic: str
    confidence: float
    answer: str
    sources: list[dict[str, Any]]
    tool_calls: Annotated[list[dict[str, Any]], _turn_list]
    summary: str
    checks: Annotated[list[str], _turn_list]
    answer_mode: str
    """How a help-centre answer was made: extractive | checked | fallback | generated (see plait.chains.rag)."""
    approval: str
    """For a cancellation: approved, rejected or not required."""
    seconds: Annotated[dict[str, float], _turn_dict]
    history: list[dict[str, Any]]
    """The thread's last turns: ``{"customer", "reply", "action"}`` (bounded, see support_turns.HISTORY_TURNS)."""
    order_id: str | None
    """The order under discussion: what "it" means in "cancel it"."""
    pending: dict[str, Any] | None
    """What the last reply asked for: a yes/no to a cancellation, an order number, or a clearer message."""


PER_TURN = {"route": "", "label": "", "topic": "", "confidence": 0.0, "answer": "", "sources": [], "summary": "",
            "answer_mode": "", "approval": "", "tool_calls": None, "checks": None, "seconds": None}
"""Values a new turn starts from; the thread's history, order and pending question carry over."""


def timed(name: str, node: Callable[[SupportState], dict[str, Any]]) -> Callable[[SupportState], dict[str, Any]]:
    """Wrap a node so its wall time lands in ``state["seconds"][name]``."""
    def run(state: SupportState) -> dict[str, Any]:
        started = time.perf_counter()
        update = node(state)
        return {**update, "seconds": {name: round(time.perf_counter() - started, 3)}}
    return run


def _after_moderation(state: SupportState) -> str:
    if state["moderation"]["decision"] == "block":
        return "blocked"
    pending = state.get("pending") or {}
    if pending.get("kind") == "confirm_cancel" and yes_or_no(state["message"]) is not None:
        return "confirm"
    return "classify"


def _router(llm: BaseChatModel, classifier_examples: int) -> Callable[[SupportState], dict[str, Any]]:
    # A chat model routes as a few-shot classifier over the labelled routing set (most similar shown).
    classify = None if hasattr(llm, "label_probabilities") else classifier(
        SUPPORT_LABELS, model=llm, examples=[*SUPPORT_EXAMPLES, *read_routes(ROUTES_FILE)], k=classifier_examples,
        name="route")

    def route(state: SupportState) -> dict[str, Any]:
        history = state.get("history") or []
        decision = route_message(llm, state["message"], classify, previous=history[-1]["action"] if history else None)
        pending = state.get("pending") or {}
        action = decision.action
        if pending.get("kind") == "order_id" and order_id_in(state["message"]) and action in ("order_status",
                                                                                                 "cancel_order", "clarify"):
            action = pending["action"]  # the order number the last reply asked for
        elif decision.confidence < CONFIDENCE:
            action = "handoff" if pending.get("kind") == "clarify" else "clarify"
        return {"route": action, "label": decision.label, "topic": decision.topic, "confidence": decision.confidence}
    return route


def support_assistant(*, collection: str = "helpcentre", store: Any = None, db: str | Path | None = None,
                      classifier_model: str | BaseChatModel | None = None, answerer: str | BaseChatModel | None = None,
                      responder: str | BaseChatModel | None = None, summarizer: str | BaseChatModel | None = None,
                      k: int = 6, answer_mode: Mode = "extractive", route_examples: int = 8,
                      chat: Chat = "template", summary: Summary = "transcript", approval: bool | None = None,
                      checkpointer: Any = None) -> Any:
    """Build the compiled support graph. Models default to the roles ``router``, ``answerer``, ``responder``, ``summarizer``.

    ``classifier_model`` routes messages (default: the ``router`` role, offline the packaged embedding
    head; a chat model routes few-shot with ``route_examples`` similar labelled messages). ``k`` and
    ``answer_mode`` are the help-centre RAG's (``extractive`` quotes the help centre). ``chat``:
    ``template`` replies or ``generate`` (checked, template when the check fails). ``summary``: the
    hand-off note from the ``transcript`` or written by the ``model``. ``approval``: a person approves
    cancellations (default: on when there is a ``checkpointer``, which an interrupt needs).
    """
    approval = checkpointer is not None if approval is None else approval
    if approval and checkpointer is None:
        raise ValueError("approval=True pauses the graph for a person, which needs a checkpointer: pass "
                         "checkpointer=sqlite_checkpointer(PATH) (or InMemorySaver()), or approval=False.")
    check = moderator()
    route = _router(router_model(classifier_model), route_examples)
    desk = OrderDesk(db)
    answer_from_kb = rag(collection, store=store, model=answerer, k=k, mode=answer_mode)
    chat_node = _chat_node(chat, responder)
    summarise = _summary_node(summary, summarizer)

    def start(state: SupportState) -> dict[str, Any]:
        return dict(PER_TURN)

    def moderate_input(state: SupportState) -> dict[str, Any]:
        return {"moderation": check.invoke(state["message"]).model_dump()}

    def help_centre(state: SupportState) -> dict[str, Any]:
        result = _answer_in_context(answer_from_kb, state)
        if not result.knew:
            return {"answer": FALLBACK_REPLY, "checks": ["no relevant help-centre article"], "route": "handoff",
                    "summary": summarise(state), "pending": None}
        sources = [{"n": s.n, "title": s.title, "source": Path(s.source).name, "score": s.score, "cited": s.cited}
                   for s in result.sources]
        return {"answer": result.answer, "sources": sources, "answer_mode": result.mode, "pending": None}

    def handoff(state: SupportState) -> dict[str, Any]:
        return {"route": "handoff", "answer": HANDOFF_REPLY, "summary": summarise(state), "pending": None}

    def clarify(state: SupportState) -> dict[str, Any]:
        return {"answer": CLARIFY_REPLY, "pending": {"kind": "clarify"}}

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

    def memory(state: SupportState) -> dict[str, Any]:
        # Any order the customer names becomes the one under discussion, whatever the route was.
        order_id = order_id_in(state["message"]) or state.get("order_id")
        return {"history": remember(state.get("history") or [], state["message"], state["answer"], state["route"]),
                "order_id": order_id}

    confirm = confirm_node(desk, approval=approval)
    nodes = {"moderate_input": moderate_input, "classify": route, "blocked": blocked,
             "confirm": lambda state: {"route": "cancel_order", **confirm(state)}, "help_centre": help_centre,
             "order_status": orders_node(desk), "cancel_order": orders_node(desk), "chit_chat": chat_node,
             "handoff": handoff, "clarify": clarify, "check_output": check_output, "remember": memory}
    graph = StateGraph(SupportState)
    graph.add_node("start", start)
    for name, node in nodes.items():
        graph.add_node(name, timed(name, node))
    graph.add_edge(START, "start")
    graph.add_edge("start", "moderate_input")
    graph.add_conditional_edges("moderate_input", _after_moderation, ["blocked", "confirm", "classify"])
    actions = ["help_centre", "order_status", "cancel_order", "chit_chat", "handoff", "clarify"]
    graph.add_conditional_edges("classify", lambda s: s["route"], actions)
    for name in ("blocked", "confirm", *actions):
        graph.add_edge(name, "check_output")
    graph.add_edge("check_output", "remember")
    graph.add_edge("remember", END)
    return graph.compile(checkpointer=checkpointer, name="support")


FOLLOW_UP_WORDS = 6
"""Messages this short after a turn on the same thread ("and next day?") are searched with the previous one."""


def _answer_in_context(answer_from_kb: Any, state: SupportState) -> Any:
    """The help centre's answer to the message, read with the previous customer message when it needs it.

    A follow-up ("and next day?", "what if it arrived broken?") lacks the words that find its
    article; the previous message has them. Short follow-ups are searched with it first; longer
    messages alone, and again with it when nothing relevant is found.
    """
    history = state.get("history") or []
    message = state["message"]
    context = f"{history[-1]['customer']} {message}" if history and history[-1]["action"] in CONTINUED else None
    if context and len(message.split()) < FOLLOW_UP_WORDS:
        result = answer_from_kb.invoke(context)
        return result if result.knew else answer_from_kb.invoke(message)
    result = answer_from_kb.invoke(message)
    return answer_from_kb.invoke(context) if context and not result.knew else result


def _chat_node(chat: Chat, responder: str | BaseChatModel | None) -> Callable[[SupportState], dict[str, Any]]:
    if chat == "template":
        return lambda state: {"answer": template_chat(state.get("topic", "")), "pending": None}
    from plait.retrieval.embeddings import local_embeddings

    generate = as_node(SUPPORT_CHAT.template | resolve_model(responder, role="responder", **SHORT_REPLY.options())
                       .bind(stop=["\n"]) | StrOutputParser(), name="chit_chat", prompt=SUPPORT_CHAT)
    ok = chat_check(local_embeddings().encode)

    def chit_chat(state: SupportState) -> dict[str, Any]:
        reply = generate.invoke({"message": state["message"]}).strip()
        if ok(reply, state.get("topic", "")):
            return {"answer": reply, "pending": None}
        return {"answer": template_chat(state.get("topic", "")), "checks": ["generated chit-chat replaced"],
                "pending": None}
    return chit_chat


def _summary_node(summary: Summary, summarizer: str | BaseChatModel | None) -> Callable[[SupportState], str]:
    def transcript(state: SupportState) -> str:
        history = state.get("history") or []
        return handoff_summary(history, state["message"], state.get("topic", ""),
                               orders_mentioned(history, state["message"], ORDER_ID))
    if summary == "transcript":
        return transcript
    write = as_node(SUPPORT_HANDOFF.template | resolve_model(summarizer, role="summarizer", **SHORT_REPLY.options())
                    .bind(stop=["\n"]) | StrOutputParser(), name="handoff", prompt=SUPPORT_HANDOFF)
    return lambda state: write.invoke({"message": transcript(state)}).strip()


def pending_approval(assistant: Any, thread_id: str) -> dict[str, Any] | None:
    """What thread ``thread_id`` waits for a person to approve (the interrupt's value), or None.

    Example:
        >>> pending_approval(bot, "t1")  # doctest: +SKIP
        {'question': 'Approve cancelling order A1003 (...)?', 'action': 'cancel_order', 'order_id': 'A1003', ...}
    """
    snapshot = assistant.get_state({"configurable": {"thread_id": thread_id}})
    interrupts = getattr(snapshot, "interrupts", ()) or ()
    return dict(interrupts[0].value) if interrupts else None


def graph() -> Any:
    """Entry point for ``langgraph.json`` (LangGraph's own tooling): over the example help centre."""
    return support_assistant(store=help_centre_store())
