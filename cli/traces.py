"""``plait traces``: list, show and export logged model calls."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.console import Console
from rich.table import Table

from plait.cli import app, err
from plait.config import load_settings
from plait.tracing import TraceStore

traces_app = typer.Typer(help="Inspect and export traced model calls.", no_args_is_help=True)
app.add_typer(traces_app, name="traces")
out = Console(highlight=False)


def _store() -> TraceStore:
    return TraceStore(load_settings().trace_db)


def _short(text: str | None, width: int = 60) -> str:
    text = (text or "").replace("\n", " ⏎ ")
    return text if len(text) <= width else text[: width - 1] + "…"


@traces_app.command("list")
def list_traces(limit: int = typer.Option(20, help="Rows to show."),
                node: str = typer.Option(None, help="Only this node's calls.")) -> None:
    """List the newest traced calls."""
    table = Table()
    table.add_column("run id", no_wrap=True, min_width=12)
    for column in ("started", "node", "prompt", "model", "tokens", "ms", "output"):
        table.add_column(column, overflow="fold" if column == "output" else "ellipsis")
    for row in _store().list(limit=limit, node=node):
        tokens = f"{row['prompt_tokens']}+{row['completion_tokens']}" if row["prompt_tokens"] is not None else "-"
        output = f"[red]{row['error']}[/]" if row["error"] else _short(row["output"])
        table.add_row(row["run_id"][-12:], row["started_at"][:19], row["node"] or "-", row["prompt"] or "-",
                      row["model_ref"] or "-", tokens, f"{row['latency_ms']:.0f}", output)
    out.print(table)


@traces_app.command("show")
def show(run_id: str = typer.Argument(..., help="Run id, or its last characters as listed.")) -> None:
    """Show one traced call in full."""
    row = _store().get(run_id)
    for key in ("run_id", "started_at", "node", "prompt", "model_ref", "adapter", "prompt_tokens",
                "completion_tokens", "latency_ms", "cost_usd", "error"):
        out.print(f"[bold]{key}[/]: {escape(str(row[key]))}")
    out.print("[bold]messages[/]:")
    for message in row["messages"]:
        out.print(f"  [cyan]{message['role']}[/]: {escape(str(message['content']))}")
    out.print(f"[bold]output[/]: {escape(str(row['output']))}")


@traces_app.command("export")
def export(node: str = typer.Option(None, help="Only this node's calls."),
           fmt: str = typer.Option("raw", "--format", help="raw (every column) or chat ({'messages': [...]})."),
           out_file: Path = typer.Option(None, "--out", help="Write JSONL here instead of stdout.")) -> None:
    """Export successful traced calls as JSONL (chat format feeds fine-tuning)."""
    if fmt not in {"raw", "chat"}:
        raise typer.BadParameter("choose raw or chat", param_hint="--format")
    roles = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}
    lines = []
    for row in _store().iter(node=node):
        if fmt == "raw":
            lines.append(json.dumps(row, ensure_ascii=False))
            continue
        messages = [{"role": roles.get(m["role"], "user"), "content": m["content"]} for m in row["messages"]]
        messages.append({"role": "assistant", "content": row["output"] or ""})
        lines.append(json.dumps({"messages": messages}, ensure_ascii=False))
    text = "\n".join(lines) + ("\n" if lines else "")
    if out_file is None:
        print(text, end="")
    else:
        out_file.write_text(text, encoding="utf-8")
        err.print(f"wrote {len(lines)} rows to {out_file}")
