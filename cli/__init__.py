"""The ``plait`` command line: thin wrappers over the library (Typer + Rich)."""

from __future__ import annotations

import os
import sys

import typer
from rich.markup import escape
from rich.console import Console

from plait.errors import PlaitError

app = typer.Typer(help="plait: composable LLM chains and agent graphs, offline by default.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
err = Console(stderr=True)


def main() -> None:
    """Entry point of the ``plait`` script: errors print what to do, not a traceback (``PLAIT_DEBUG=1`` shows it)."""
    for position, arg in enumerate(sys.argv[1:], 1):
        if not _is_utf8(arg):  # the shell handed over bytes that are not UTF-8 (a Latin-1 terminal, a binary paste)
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")[:60]
            err.print(f"[bold red]error:[/] argument {position} ({escape(shown)!r}) is not UTF-8 text. plait reads "
                      "arguments as UTF-8: set your terminal to UTF-8, or put the text in a UTF-8 file and pass "
                      "that file.", highlight=False)
            sys.exit(2)
    try:
        app()
    except PlaitError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)
    except OSError as exc:  # a path the user gave: missing, a folder, unreadable, too long
        if os.environ.get("PLAIT_DEBUG"):
            raise
        where = f" {str(exc.filename)[:120]!r}" if exc.filename else ""
        err.print(f"[bold red]error:[/] cannot use{escape(where)}: {escape(exc.strerror or str(exc))}. Check the "
                  "path: it must exist (or its folder must, for an output file), be readable, and be a file where "
                  "a file is expected.", highlight=False)
        sys.exit(1)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# Imported last: each module registers its commands on `app`.
from plait.cli import ask, chat, classify, evaluate, finetune, models, retrieval, serve, traces  # noqa: E402, F401
