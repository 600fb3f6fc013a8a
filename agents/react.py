"""ReAct as a LangGraph graph, on any model.

Models with native tool calling use it. Others (the local llama.cpp model) follow a JSON
protocol (:mod:`plait.agents.protocol`): constrained on llama.cpp so every reply is a valid
tool call or answer, parsed tolerantly with a bounded re-ask elsewhere. Tool errors come back
as observations, a step limit ends with a polite message, sensitive tools pause for a person's
approval (LangGraph ``interrupt``), and a checkpointer makes a conversation resumable.

Example:
    >>> from plait.agents import react_agent, sqlite_checkpointer
    >>> from plait.tools import calculator
    >>> agent = react_agent([calculator], checkpointer=sqlite_checkpointer(".plait/threads.db"))
    >>> config = {"configurable": {"thread_id": "t1"}}
    >>> agent.invoke({"messages": [("human", "What is 17 * 23?")]}, config)["messages"][-1].content  # doctest: +SKIP
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import interrupt

from plait.agents.prompts import (
    NOT_APPROVED,
    PARSE_GIVE_UP,
    REACT,
    REACT_RETRY,
    REACT_TOOLS,
    ROUTER_ANSWER,
    STEP_LIMIT,
)
from plait.agents.grounding import (
    check_call,
    context_of,
    copy_only,
    copy_spans,
    implied,
    names_apart,
    whole_numbers,
)
from plait.agents.planning import (
    PLAN,
    failed,
    follow_up,
    labelled_ids,
    lookup_for,
    missing_ids,
    tool_labelled_for,
)
from plait.agents.protocol import args_schema, describe_tools, parse_reply, protocol_schema, to_protocol
from plait.agents.router import ToolRouter, latest_turn, readable
from plait.agents.tool_choice import TOOL_SCORER, ToolChooser, spec_of
from plait.agents.tool_need import ToolNeed
from plait.agents.tool_training import spec_tool
from plait.agents.values import fix_formats, normalise_args
from plait.errors import OutputParseError
from plait.models import ModelSettings, capabilities, resolve_model
from plait.models.settings import FREE_TEXT, PROTOCOL_MIN_TOKENS
from plait.prompts import Prompt

Protocol = Literal["auto", "native", "json", "router", "routed"]
COPYING = ModelSettings(repeat_penalty=1.0)
"""Decoding of the compact (thought-less) protocol: no repeat penalty."""
TOOL_CALLING = "tool-calling"
"""``task.kind`` of an adapter trained to call tools (:mod:`plait.agents.tool_training`)."""


class AgentState(MessagesState):
    """Messages plus the number of model steps taken in this turn."""

    steps: int


def sqlite_checkpointer(path: str | Path) -> Any:
    """A LangGraph SQLite checkpointer: conversations survive the process (resume by ``thread_id``)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteSaver(sqlite3.connect(str(path), check_same_thread=False))


def _native(llm: BaseChatModel, protocol: Protocol) -> bool:
    if protocol != "auto":
        return protocol == "native"
    return capabilities(llm).native_tools


class _Agent:
    """The model step: one tool call or one answer per call."""

    def __init__(self, llm: BaseChatModel, tools: Sequence[BaseTool], prompt: Prompt, native: bool,
                 max_steps: int, retries: int, thoughts: bool = True, router: Any = None, gate: Any = None,
                 need: ToolNeed | None = None) -> None:
        self.tools, self.max_steps, self.retries, self.native = list(tools), max_steps, retries, native
        self.router, self.gate, self.base, self.need = router, gate, llm, need
        self.names, self.thoughts = [t.name for t in tools], thoughts
        self.system = prompt.template.invoke({"tools": describe_tools(tools)}).to_messages()
        self.llm: Any = llm.bind_tools(self.tools) if native else self._constrained(self.tools, answer=True)

    def _constrained(self, tools: Sequence[BaseTool], *, answer: bool) -> Any:
        if not capabilities(self.base).constrained:
            return self.base
        # Only a valid tool call or a final answer can be generated: parse failures are impossible.
        budget = ModelSettings(max_tokens=max(self.base.max_tokens, PROTOCOL_MIN_TOKENS))
        # Without thoughts the reply is a call whose values are copied from the request or a
        # result: a repeat penalty would push the model off exactly those tokens.
        style = FREE_TEXT if self.thoughts else COPYING
        return self.base.constrained_output(protocol_schema(tools, thoughts=self.thoughts, answer=answer),
                                            schema_hint=False, settings=style.merged_with(budget))

    def __call__(self, state: AgentState) -> dict[str, Any]:
        steps = state.get("steps", 0)
        if steps >= self.max_steps:
            return {"messages": [AIMessage(STEP_LIMIT.format(steps=self.max_steps))], "steps": 0}
        if self.router is not None:
            reply = self.router(state["messages"])
        else:
            messages = list(state["messages"]) if self.native else \
                [*self.system, *to_protocol(state["messages"], thoughts=self.thoughts,
                                            annotate_requests=not self.thoughts)]
            if isinstance(self.gate, ToolChooser):
                reply = self._chosen(state["messages"], messages)
            else:
                llm, names = self.llm, self.names
                if self.gate is not None and self.gate.first_step(state["messages"]):
                    # The router decides whether a tool is needed and which; the model writes the call.
                    allowed = self.gate.choose(state["messages"])
                    llm, names = self._constrained(allowed, answer=not allowed), [t.name for t in allowed]
                reply = self._reply(messages, llm, names)
        return {"messages": [reply], "steps": 0 if not reply.tool_calls else steps + 1}

    def _chosen(self, history: Sequence[BaseMessage], messages: list[BaseMessage]) -> AIMessage:
        """A step decided by the tool scorer: it picks the next tool (or none), the model writes only the call.

        A call that needs an id the request does not give becomes a lookup first
        (:mod:`plait.agents.planning`); the step after the lookup's result calls the planned tool.
        """
        request, turn = latest_turn(history)
        done = [(str(m.name), m.content) for m in turn if isinstance(m, ToolMessage)]
        tool = self._next_tool(request, turn, done)
        if tool is None:
            if done:  # quote what the tools returned: a value the model never rewrites cannot be misquoted
                return AIMessage(ROUTER_ANSWER.format(result=readable(done[-1][1])))
            return self._reply(messages, self._constrained([], answer=True), [])
        results = [content for _, content in done]
        reply = self._write(tool, messages, request, results)
        return self._resolve_ids(tool, reply, messages, request, done) if reply.tool_calls else reply

    def _next_tool(self, request: str, turn: Sequence[BaseMessage], done: Sequence[tuple[str, Any]]) -> BaseTool | None:
        """The tool this step calls: none for talk, the planned one after a lookup, the scorer's choice, or
        the tool that takes the id the first result holds when the request asked for it too."""
        if not done and self.need is not None and not self.need.needs_tool(request):
            return None  # thanks, a greeting, a general question: no tool, whatever the cards look like
        tool = self._planned(turn, done) or self.gate.choose(request, self.tools, done)
        if tool is not None or len(done) != 1 or failed(done[0][1]):
            return tool
        similarity = {t.name: score for score, t in self.gate.scores(request, self.tools)}
        name = follow_up(done[0][0], done[0][1], [spec_of(t) for t in self.tools], similarity, floor=self.gate.first)
        return self._tool(name) if name else None

    def _resolve_ids(self, tool: BaseTool, reply: AIMessage, messages: list[BaseMessage], request: str,
                     done: Sequence[tuple[str, Any]]) -> AIMessage:
        """``reply`` when its ids are stated; else the call of the tool the id belongs to, or a lookup first."""
        specs, results = [spec_of(t) for t in self.tools], [content for _, content in done]
        others = [k for s in specs if s["name"] != tool.name for k, v in s["parameters"]["properties"].items()
                  if v.get("type") == "string" and "enum" not in v]
        args, called = reply.tool_calls[0]["args"], [name for name, _ in done]
        missing = missing_ids(args_schema(tool), args, request, results, others=others)
        if not missing:
            return reply
        owner = tool_labelled_for(args.get(missing[0]), spec_of(tool), specs, request, called)
        if owner is not None:  # the id the call took is labelled as another tool's: that tool was meant
            return self._write(self._tool(owner), messages, request, results)
        first = lookup_for(missing, spec_of(tool), specs, called)
        lookup = self._write(self._tool(first), messages, request, results) if first else None
        if lookup is None or not lookup.tool_calls:
            return reply
        lookup.additional_kwargs[PLAN] = tool.name
        return lookup

    def _tool(self, name: str) -> BaseTool:
        return next(t for t in self.tools if t.name == name)

    def _planned(self, turn: Sequence[BaseMessage], done: Sequence[tuple[str, Any]]) -> BaseTool | None:
        """The tool a lookup this turn was made for, once the lookup has answered without an error."""
        plans = [m.additional_kwargs[PLAN] for m in turn if isinstance(m, AIMessage) and PLAN in m.additional_kwargs]
        if not plans or not done or plans[-1] in {name for name, _ in done} or failed(done[-1][1]):
            return None
        return self._tool(plans[-1]) if plans[-1] in self.names else None

    def _write(self, tool: BaseTool, messages: list[BaseMessage], request: str, results: Sequence[Any],
               reply: AIMessage | None = None) -> AIMessage:
        """The model writes ``tool``'s call (or ``reply`` is the call it wrote), values normalised and checked.

        Optional values nobody stated are dropped; a required one is written again, copying only.
        """
        if reply is None:
            reply = self._reply(messages, self._constrained([tool], answer=False), [tool.name])
        if not reply.tool_calls:
            return reply
        schema = args_schema(tool)
        args = normalise_args(reply.tool_calls[0]["args"], schema, request)
        args = labelled_ids(schema, whole_numbers(fix_formats(args, schema, request), schema, request), request)
        args, again = check_call(args, schema, context_of(request, results))
        if again:  # a required value the request never states: write the call again, copying only
            narrow = spec_tool({"name": tool.name, "description": tool.description,
                                "parameters": copy_only(schema, again, copy_spans(request, results))})
            retry = self._reply(messages, self._constrained([narrow], answer=False), [tool.name])
            if retry.tool_calls:
                args = normalise_args(retry.tool_calls[0]["args"], schema, request)
        reply.tool_calls[0]["args"] = names_apart(implied(args, schema, request, tool.name))
        return reply

    def _reply(self, messages: list[BaseMessage], llm: Any = None, names: Sequence[str] | None = None) -> AIMessage:
        llm, names = llm or self.llm, self.names if names is None else names
        if self.native:
            return llm.invoke(messages)
        for _attempt in range(self.retries + 1):
            raw = llm.invoke(messages)
            try:
                return parse_reply(str(raw.content), names)
            except OutputParseError as exc:
                messages = [*messages, raw, HumanMessage(REACT_RETRY.format(error=exc))]
        return AIMessage(PARSE_GIVE_UP, additional_kwargs={"plait_parse_error": str(raw.content)[:500]})


def _approve_node(sensitive: set[str]):
    def approve(state: AgentState) -> dict[str, Any]:
        last = state["messages"][-1]
        pending = [c for c in last.tool_calls if c["name"] in sensitive]
        decision = interrupt({"question": "Approve these tool calls?",
                              "tool_calls": [{"name": c["name"], "args": c["args"]} for c in pending]})
        if str(decision).strip().lower() in {"approve", "approved", "yes", "y", "true"}:
            return {}
        return {"messages": [ToolMessage(NOT_APPROVED.format(tool=c["name"]), tool_call_id=c["id"], name=c["name"])
                             for c in last.tool_calls]}
    return approve


def _chooser(tool_scorer: Any) -> ToolChooser:
    if isinstance(tool_scorer, ToolChooser):
        return tool_scorer
    return ToolChooser.load(tool_scorer or TOOL_SCORER)


def _need(tool_need: str | Path | ToolNeed | bool) -> ToolNeed | None:
    if isinstance(tool_need, ToolNeed) or tool_need is False:
        return tool_need or None
    return ToolNeed.packaged() if tool_need is True else ToolNeed(tool_need)


def trained_for_tools(llm: BaseChatModel) -> bool:
    """True when ``llm`` is an adapter trained to call tools (it expects :data:`REACT_TOOLS`, no thoughts)."""
    return (getattr(llm, "adapter_task", None) or {}).get("kind") == TOOL_CALLING


def react_agent(tools: Sequence[BaseTool], *, model: str | BaseChatModel | None = None, prompt: Prompt | None = None,
                protocol: Protocol = "auto", thoughts: bool | None = None, max_steps: int = 6, retries: int = 2,
                sensitive: Sequence[str] = (), checkpointer: Any = None, name: str = "react",
                tool_scorer: str | Path | ToolChooser | bool | None = None,
                tool_need: str | Path | ToolNeed | bool = True) -> Any:
    """Build a compiled ReAct graph over ``tools``.

    ``protocol`` picks native tool calling or the JSON protocol (``auto``: native where the
    model has it); ``router`` picks the tool by embedding similarity and lets the model fill in
    only the arguments (:mod:`plait.agents.router`, for models that never call tools);
    ``routed`` lets the router decide the first step (which tool, or none) and the model write
    the call under the JSON protocol, then the model goes on alone (second calls, the answer). On the offline default the ``agent`` role resolves to the packaged
    tool-calling adapter (``lora:tool-calls``), which is prompted the way it was trained
    (:data:`REACT_TOOLS`, no ``thought`` field) and, with ``protocol="auto"``, run with the
    protocol its task records (``routed``, which measured best on held-out tools); other models
    get :data:`REACT` with thoughts.
    With ``routed`` a tool scorer (:mod:`plait.agents.tool_choice`, the packaged one unless
    ``tool_scorer`` names another folder or is a :class:`ToolChooser`) decides every step: which
    tool next, or none; the model writes only that tool's arguments (dates, times and numbers in
    words annotated with their machine form, then normalised to the schema), and after the last
    result the answer quotes it. Before the scorer's first step a request-only head
    (:mod:`plait.agents.tool_need`, the packaged one; ``tool_need`` names another folder, or
    ``False`` turns it off) vetoes a tool for messages that surely need none (thanks, greetings,
    general questions). ``tool_scorer=False`` uses plain MiniLM similarity for the first
    step only and lets the model go on alone (the earlier behaviour).
    ``prompt`` and ``thoughts`` override that. Tools named in ``sensitive`` (or whose metadata
    says ``sensitive``) wait for approval: the graph interrupts, and ``Command(resume="approve")``
    (or anything else, to refuse) continues it. ``max_steps`` bounds tool calls per turn.
    """
    llm = resolve_model(model, role="agent")
    trained = trained_for_tools(llm)
    if trained and protocol == "auto":  # the protocol the adapter measured best with, recorded in its task
        protocol = llm.adapter_task.get("protocol", "json")
    router = ToolRouter(llm, tools) if protocol == "router" or protocol == "routed" and tool_scorer is False else None
    gate = router if protocol == "routed" and router is not None else \
        _chooser(tool_scorer) if protocol == "routed" else None
    native = protocol not in ("router", "routed") and _native(llm, protocol)
    need = _need(tool_need) if isinstance(gate, ToolChooser) else None
    agent = _Agent(llm, tools, prompt or (REACT_TOOLS if trained else REACT), native, max_steps, retries,
                   thoughts=(not trained) if thoughts is None else thoughts,
                   router=router if protocol == "router" else None, gate=gate, need=need)
    needs_approval = set(sensitive) | {t.name for t in tools if (t.metadata or {}).get("sensitive")}

    def route(state: AgentState) -> str:
        calls = state["messages"][-1].tool_calls if isinstance(state["messages"][-1], AIMessage) else []
        if not calls:
            return END
        return "approve" if any(c["name"] in needs_approval for c in calls) else "tools"

    def after_approval(state: AgentState) -> str:
        return "agent" if isinstance(state["messages"][-1], ToolMessage) else "tools"

    graph = StateGraph(AgentState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(list(tools), handle_tool_errors=True))
    graph.add_node("approve", _approve_node(needs_approval))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", route, ["tools", "approve", END])
    graph.add_conditional_edges("approve", after_approval, ["tools", "agent"])
    graph.add_edge("tools", "agent")
    return graph.compile(checkpointer=checkpointer, name=name)
