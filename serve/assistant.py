"""The customer-support assistant over HTTP: ``POST /v1/assistants/support/chat`` and a chat page at ``/``.

The assistant (:func:`plait.agents.support.support_assistant`) is built once per app, on the
first request, over the ``helpcentre`` collection of the app's vector store; an empty collection
is first filled from the packaged example help centre (:func:`plait.agents.help_centre_store`).
Conversations are kept per ``thread_id`` by a SQLite checkpointer in the app's data folder. Every
turn runs through the local-model queue (:mod:`plait.serve.workers`), streamed or not, so a slow
reader never holds the model.

A cancellation waits for a person: after the customer's "yes" the reply carries ``approval``
({question, order_id, ...}) and the thread stays paused until ``POST
/v1/assistants/support/approvals`` with ``{"thread_id", "decision": "approve" | "reject"}``
resumes it (any time later, after a restart too: the pause is in the checkpoint).

Streaming answers are server-sent events, each ``event: NAME`` with a JSON ``data`` line:
``route`` ({route, topic}), ``tool`` ({tool, args, result}), ``sources`` ({sources}), ``token``
({text}), then ``done`` (the same object a non-streaming request returns) or ``error``
({message}). ``done.answer`` is the final answer: it replaces the streamed tokens when the
assistant's output check replaced the model's reply. A comment line (``: ping``) every 15 s keeps
proxies from closing a quiet stream; SSE clients skip comments.

Example:
    >>> import httpx  # doctest: +SKIP
    >>> httpx.post("http://127.0.0.1:8000/v1/assistants/support/chat",
    ...            json={"message": "How long do refunds take?"}, timeout=120).json()["route"]  # doctest: +SKIP
    'help_centre'
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from langchain_core.messages import AIMessageChunk
from langgraph.types import Command
from pydantic import BaseModel, ConfigDict
from sse_starlette import EventSourceResponse, ServerSentEvent

from plait.config import Settings
from plait.serve.workers import DONE, Pump, in_worker

router = APIRouter()
CHAT_PATH = "/v1/assistants/support/chat"
APPROVALS_PATH = "/v1/assistants/support/approvals"
MAX_MESSAGE_CHARS = 4000
ANSWER_NODES = frozenset({"help_centre", "chit_chat"})
"""Nodes whose model output is the answer; tokens of the classifier and hand-off summary are not."""
_THREAD_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_PAGE_HEADERS = {
    # The page works offline: it may load nothing but itself and talk to nothing but this server.
    "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                               "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


class SupportChatRequest(BaseModel):
    """One customer message."""

    model_config = ConfigDict(extra="forbid")
    message: str
    """What the customer wrote."""
    thread_id: str | None = None
    """Conversation to continue; leave it out to start one (the reply names its ``thread_id``)."""
    stream: bool = False
    """Answer with server-sent events instead of one JSON object."""


class ApprovalRequest(BaseModel):
    """A person's decision on the action a thread is waiting for (a cancellation)."""

    model_config = ConfigDict(extra="forbid")
    thread_id: str
    """The paused conversation (its last reply carried ``approval``)."""
    decision: Literal["approve", "reject"]
    """``approve`` runs the action; ``reject`` tells the customer a colleague will follow up."""


# ---- building the assistant ------------------------------------------------------------------

def build_support(settings: Settings, data_dir: Path) -> Any:
    """Build the support graph on ``settings``' models and store, checkpointed under ``data_dir``.

    Example:
        >>> assistant = build_support(load_settings(), Path(".plait/serve"))  # doctest: +SKIP
    """
    # Imported where used: the app starts without loading the agents' stack until the first chat.
    from plait.agents import help_centre_store, sqlite_checkpointer
    from plait.agents.support import support_assistant
    from plait.models import resolve_model
    from plait.models.settings import SHORT_REPLY
    from plait.tools import shop_database

    def model(role: str, **options: Any) -> Any:
        return resolve_model(role=role, settings=settings, **options)

    return support_assistant(
        store=help_centre_store(settings=settings), db=shop_database(settings.home / "shop.db"),
        classifier_model=model("classifier"), answerer=model("answerer"),
        # The chit-chat and hand-off replies are short, as in support_assistant's own defaults.
        responder=model("responder", **SHORT_REPLY.options()), summarizer=model("summarizer", **SHORT_REPLY.options()),
        checkpointer=sqlite_checkpointer(data_dir / "threads.db"))


def support_for(state: Any) -> Any:
    """The app's assistant, built on first use; call it in the local-model queue, which runs one build at a time."""
    if getattr(state, "support_assistant", None) is None:
        state.support_assistant = build_support(state.settings, state.data_dir)
    return state.support_assistant


# ---- one turn ------------------------------------------------------------------------------

Event = tuple[str, dict[str, Any]]


@dataclass
class _Turn:
    """Reads one run of the graph (its node updates and model tokens) into events and a final reply."""

    thread_id: str
    route: str | None = None
    topic: str | None = None
    answer: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    approval: dict[str, Any] | None = None
    """What a person is asked to approve, when the turn paused for one."""
    streamed: bool = False

    def on_token(self, message: Any, meta: dict[str, Any]) -> list[Event]:
        # Whole AIMessages are the same reply again, sent when a model call ends: only chunks count.
        if not isinstance(message, AIMessageChunk) or meta.get("langgraph_node") not in ANSWER_NODES:
            return []
        text = message.content if isinstance(message.content, str) else ""
        text = text if self.streamed else text.lstrip()  # the local model's reply starts with a space
        self.streamed = self.streamed or bool(text)
        return [("token", {"text": text})] if text else []

    def on_update(self, values: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        if values.get("route"):  # the first node's reset ("") is no route
            self.route, self.topic = values["route"], values.get("topic") or self.topic
            events.append(("route", {"route": self.route, "topic": self.topic}))
        for call in values.get("tool_calls") or []:
            self.tool_calls.append(call)
            events.append(("tool", call))
        if values.get("sources"):
            self.sources = [{**s, "score": round(s["score"], 3)} for s in values["sources"]]
            events.append(("sources", {"sources": self.sources}))
        self.answer = values.get("answer", self.answer)
        return events

    def on_interrupt(self, interrupts: Any) -> list[Event]:
        self.approval = dict(interrupts[0].value)
        self.answer = self.answer or "One moment: a colleague is confirming this for you."
        return [("approval", self.approval)]

    def finish(self) -> list[Event]:
        reply = {"answer": self.answer, "route": self.route, "topic": self.topic, "tool_calls": self.tool_calls,
                 "sources": self.sources, "thread_id": self.thread_id, "approval": self.approval}
        # Routes answered from templates (orders, hand-off) stream no tokens: send the answer as one.
        return ([] if self.streamed else [("token", {"text": self.answer})]) + [("done", reply)]


def run_turn(assistant: Any, message: str | Command, thread_id: str) -> Iterator[Event]:
    """Run one message (or a person's decision, as ``Command(resume=...)``) on ``thread_id``; the last event is ``done``.

    Example:
        >>> [name for name, _ in run_turn(assistant, "Hi!", "t1")]  # doctest: +SKIP
        ['route', 'token', 'done']
    """
    turn = _Turn(thread_id)
    # The graph's first node resets the per-turn values; the thread's memory carries over.
    inputs = message if isinstance(message, Command) else {"message": message}
    config = {"configurable": {"thread_id": thread_id}}
    for mode, chunk in assistant.stream(inputs, config, stream_mode=["updates", "messages"]):
        if mode == "messages":
            yield from turn.on_token(*chunk)
            continue
        for node, values in chunk.items():
            yield from (turn.on_interrupt(values) if node == "__interrupt__" else turn.on_update(values or {}))
    yield from turn.finish()


def _events(state: Any, message: str | Command, thread_id: str) -> Iterator[Event]:
    return run_turn(support_for(state), message, thread_id)


def _reply(state: Any, message: str | Command, thread_id: str) -> dict[str, Any]:
    return [data for name, data in _events(state, message, thread_id) if name == "done"][-1]


def _resume(state: Any, thread_id: str, decision: str) -> dict[str, Any]:
    from plait.agents.support import pending_approval

    if pending_approval(support_for(state), thread_id) is None:
        raise HTTPException(409, detail={"message": f"Thread {thread_id!r} is not waiting for an approval; only a "
                                                    "reply that carried 'approval' can be approved or rejected.",
                                         "param": "thread_id"})
    return _reply(state, Command(resume=decision), thread_id)


# ---- routes --------------------------------------------------------------------------------

def _bad_request(message: str, param: str) -> HTTPException:
    return HTTPException(400, detail={"message": message, "param": param})


def _checked(body: SupportChatRequest) -> tuple[str, str]:
    message = body.message.strip()
    if not message:
        raise _bad_request("message is empty: send the customer's question as "
                           "{\"message\": \"How long do refunds take?\"}.", "message")
    if len(message) > MAX_MESSAGE_CHARS:
        raise _bad_request(f"message is {len(message)} characters; send at most {MAX_MESSAGE_CHARS}.", "message")
    if body.thread_id is not None and not _THREAD_ID.fullmatch(body.thread_id):
        raise _bad_request("thread_id must be 1-128 letters, digits, '.', '_', ':' or '-'; leave it out to start "
                           "a new conversation.", "thread_id")
    return message, body.thread_id or f"support-{uuid.uuid4().hex[:16]}"


@router.post(CHAT_PATH, response_model=None)
async def support_chat(body: SupportChatRequest, request: Request) -> dict[str, Any] | EventSourceResponse:
    """Answer a customer message with the support assistant: route, tool calls, sources and answer."""
    message, thread_id = _checked(body)
    state = request.app.state
    if not body.stream:
        return await in_worker(request, _reply, state, message, thread_id, local=True)
    pump = await Pump.start(request, partial(_events, state, message, thread_id), local=True)
    first = await pump.next()
    if isinstance(first, Exception):
        raise first  # nothing is sent yet: the client gets a proper status and error body
    # "\n" line ends: the chat page splits events on a blank line written as "\n\n".
    return EventSourceResponse(_sse(pump, first), sep="\n",
                               headers={"cache-control": "no-cache", "x-thread-id": thread_id})


@router.post(APPROVALS_PATH, response_model=None)
async def support_approval(body: ApprovalRequest, request: Request) -> dict[str, Any]:
    """A person approves or rejects what a paused conversation waits for; the customer's reply comes back."""
    if not _THREAD_ID.fullmatch(body.thread_id):
        raise _bad_request("thread_id must be 1-128 letters, digits, '.', '_', ':' or '-'.", "thread_id")
    return await in_worker(request, _resume, request.app.state, body.thread_id, body.decision, local=True)


def sse_event(name: str, data: dict[str, Any]) -> ServerSentEvent:
    """One named server-sent event with JSON data.

    Example:
        >>> sse_event("token", {"text": "Hi"}).encode()
        b'event: token\\ndata: {"text": "Hi"}\\n\\n'
    """
    return ServerSentEvent(json.dumps(data, ensure_ascii=False), event=name, sep="\n")


async def _sse(pump: Pump, item: Any) -> AsyncIterator[ServerSentEvent]:
    try:
        while item is not DONE:
            if isinstance(item, Exception):
                yield sse_event("error", {"message": f"The assistant failed: {item}"})
                return
            yield sse_event(*item)
            item = await pump.next()
    finally:
        pump.stop()  # a no-op after the end; stops the graph when the client went away


@router.get("/", include_in_schema=False)
async def chat_page() -> HTMLResponse:
    """The chat page: public (it holds no data); its API calls carry the key the user pastes."""
    page = resources.files("plait.serve").joinpath("static/index.html").read_text(encoding="utf-8")
    return HTMLResponse(page, headers=_PAGE_HEADERS)
