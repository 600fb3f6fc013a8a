"""``plait chat``: talk to the support assistant in the terminal, node by node."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from plait.cli import app, err

out = Console(highlight=False)
AGENTS = ("support",)


def build_agent(name: str, *, thread: str | None = None) -> Any:
    """The named agent graph, checkpointed under .plait when a thread is given.

    The support assistant answers from the ``helpcentre`` collection, filled from the packaged
    example help centre when it is empty (so it answers in a fresh folder too).
    """
    if name not in AGENTS:
        raise typer.BadParameter(f"unknown agent {name!r}; agents: {', '.join(AGENTS)}", param_hint="--agent")
    from plait.agents import help_centre_store, sqlite_checkpointer
    from plait.agents.support import support_assistant
    from plait.config import load_settings

    settings = load_settings()
    checkpointer = sqlite_checkpointer(settings.home / "threads.db") if thread else None
    return support_assistant(store=help_centre_store(settings=settings), checkpointer=checkpointer)


def run_turn(agent: Any, message: str, thread: str | None) -> dict[str, Any]:
    """Run one message, printing each node as it finishes; return the final state."""
    config = {"configurable": {"thread_id": thread}} if thread else {}
    final: dict[str, Any] = {}
    for update in agent.stream({"message": message}, config, stream_mode="updates"):
        for node, values in update.items():
            values = values or {}
            final.update(values)
            if node == "classify":
                err.print(f"[dim]route: {values.get('route')} / {values.get('topic')}[/]")
            for call in values.get("tool_calls", []):
                err.print(f"[dim]tool: {call['tool']}({call['args']})[/]")
    out.print(f"[bold]assistant:[/] {final.get('answer', '')}")
    for source in final.get("sources", []):
        out.print(f"[dim]  [{source['n']}] {Path(source['source']).name} · {source['title']}[/]")
    return final


@app.command()
def chat(agent: str = typer.Option("support", help="Which agent."),
         thread: str = typer.Option(None, help="Conversation id; state is saved under .plait/threads.db.")) -> None:
    """Chat with an agent; shows the route, tool calls and sources. Empty line or Ctrl-D ends."""
    thread = thread or f"chat-{uuid.uuid4().hex[:8]}"
    graph = build_agent(agent, thread=thread)
    err.print(f"[dim]thread {thread} · empty line to quit[/]")
    while True:
        try:
            message = input("you: ").strip()
        except EOFError:
            break
        if not message:
            break
        run_turn(graph, message, thread)
