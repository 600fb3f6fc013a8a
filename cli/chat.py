"""``plait chat``: talk to the support assistant, or a ReAct agent with plait's tools, in the terminal."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from langgraph.types import Command
from rich.console import Console

from plait.cli import app, err

out = Console(highlight=False)
AGENTS = ("support", "tools")


def build_agent(name: str, *, thread: str | None = None) -> Any:
    """The named agent graph, checkpointed under .plait when a thread is given.

    ``support``: the support assistant, answering from the ``helpcentre`` collection (filled from
    the packaged example help centre when empty, so it answers in a fresh folder too).
    ``tools``: a ReAct agent on the ``agent`` role (offline: the packaged tool-calling adapter)
    with the calculator, the example shop's order tools and a help-centre search tool.
    """
    if name not in AGENTS:
        raise typer.BadParameter(f"unknown agent {name!r}; agents: {', '.join(AGENTS)}", param_hint="--agent")
    from plait.agents import help_centre_store, react_agent, sqlite_checkpointer
    from plait.agents.support import support_assistant
    from plait.config import load_settings

    settings = load_settings()
    checkpointer = sqlite_checkpointer(settings.home / "threads.db") if thread else None
    store = help_centre_store(settings=settings)
    if name == "tools":
        from plait.tools import calculator, order_tools, retriever_tool, shop_database

        tools = [calculator, *order_tools(shop_database(settings.home / "shop.db"))[:2], retriever_tool(store)]
        return react_agent(tools, checkpointer=checkpointer, name="tools")
    return support_assistant(store=store, checkpointer=checkpointer)


def run_turn(agent: Any, message: str | Command, thread: str | None) -> dict[str, Any]:
    """Run one message (or a person's decision as ``Command``), printing each node as it finishes; return the
    final state, with ``waiting`` (what to approve) when the assistant waits for a person."""
    if agent.name == "tools":
        return _react_turn(agent, message, thread)
    config = {"configurable": {"thread_id": thread}} if thread else {}
    final: dict[str, Any] = {}
    inputs = message if isinstance(message, Command) else {"message": message}
    for update in agent.stream(inputs, config, stream_mode="updates"):
        for node, values in update.items():
            if node == "__interrupt__":  # paused for a person (a cancellation to approve)
                final["waiting"] = dict(values[0].value)
                continue
            values = values or {}
            final.update(values)
            if node == "classify":
                err.print(f"[dim]route: {values.get('route')} ({values.get('label')}, "
                          f"{values.get('confidence', 0):.2f})[/]")
            for call in values.get("tool_calls") or []:
                err.print(f"[dim]tool: {call['tool']}({escape(str(call['args']))})[/]")
    if final.get("waiting"):
        err.print(f"[yellow]waiting for a person: {escape(final['waiting']['question'])}[/]")
        return final
    out.print(f"[bold]assistant:[/] {escape(str(final.get('answer', '')))}")
    for source in final.get("sources", []):
        out.print(f"[dim]  [{source['n']}] {escape(Path(source['source']).name)} · {escape(source['title'])}[/]")
    return final


def _decide(agent: Any, thread: str, approval: dict[str, Any]) -> dict[str, Any]:
    """Ask the person at the terminal (staff) to approve what the assistant waits for, and resume with it."""
    while True:
        try:
            decision = input(f"staff: {approval['question']} [approve/reject/later] ").strip().lower()
        except EOFError:
            decision = "later"
        if decision == "later":
            err.print(f"[dim]still waiting; resume with `plait chat --thread {thread}`[/]")
            return {}
        if decision in ("approve", "reject"):
            return run_turn(agent, Command(resume=decision), thread)
        err.print("[dim]type approve, reject or later[/]")


def _react_turn(agent: Any, message: str, thread: str | None) -> dict[str, Any]:
    config = {"configurable": {"thread_id": thread}} if thread else {}
    final: dict[str, Any] = {"tool_calls": []}
    for update in agent.stream({"messages": [("human", message)]}, config, stream_mode="updates"):
        for values in update.values():
            for reply in (values or {}).get("messages", []):
                for call in getattr(reply, "tool_calls", None) or []:
                    err.print(f"[dim]tool: {call['name']}({escape(str(call['args']))})[/]")
                    final["tool_calls"].append({"tool": call["name"], "args": call["args"]})
                if reply.type == "tool":
                    err.print(f"[dim]  -> {escape(str(reply.content)[:200])}[/]")
                elif reply.type == "ai" and not reply.tool_calls:
                    final["answer"] = str(reply.content)
    out.print(f"[bold]assistant:[/] {escape(str(final.get('answer', '')))}")
    return final


@app.command()
def chat(agent: str = typer.Option("support", help="support (the assistant) or tools (ReAct with plait's tools)."),
         thread: str = typer.Option(None, help="Conversation id; state is saved under .plait/threads.db.")) -> None:
    """Chat with an agent (support, or tools: a ReAct agent); shows tool calls. Empty line or Ctrl-D ends."""
    thread = thread or f"chat-{uuid.uuid4().hex[:8]}"
    graph = build_agent(agent, thread=thread)
    err.print(f"[dim]thread {thread} · empty line to quit[/]")
    if agent == "support":
        from plait.agents.support import pending_approval

        waiting = pending_approval(graph, thread)  # a thread paused in an earlier session resumes here
        if waiting:
            _decide(graph, thread, waiting)
    while True:
        try:
            message = input("you: ").strip()
        except EOFError:
            break
        if not message:
            break
        final = run_turn(graph, message, thread)
        if final.get("waiting"):
            _decide(graph, thread, final["waiting"])
