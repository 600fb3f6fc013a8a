"""The ``plait`` command line: thin wrappers over the library (Typer + Rich)."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape
from rich.console import Console

from plait.errors import PlaitError

app = typer.Typer(help="plait: composable LLM chains and agent graphs, offline by default.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
err = Console(stderr=True)


def main() -> None:
    """Entry point of the ``plait`` script: PlaitErrors print their fix, not a traceback."""
    try:
        app()
    except PlaitError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)


# Imported last: each module registers its commands on `app`.
from plait.cli import ask, chat, classify, evaluate, finetune, models, retrieval, serve, traces  # noqa: E402, F401
