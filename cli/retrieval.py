"""``plait ingest`` and ``plait search``: fill and query a Chroma collection."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from plait.cli import app, err

out = Console(highlight=False)


@app.command()
def ingest(paths: list[Path] = typer.Argument(..., help="Files and folders (.txt .md .html .pdf .csv .jsonl)."),
           collection: str = typer.Option(None, help="Collection name (default: [retrieval].collection or 'plait')."),
           prune: bool = typer.Option(False, help="Remove chunks of files that no longer exist under PATHS.")) -> None:
    """Ingest documents into the vector store; unchanged files are skipped, changed ones replaced."""
    from plait.retrieval import ingest as run_ingest
    from plait.retrieval import vector_store
    from plait.retrieval.ingest import count_files

    store = vector_store(collection)
    with Progress(TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  console=err, transient=True) as progress:
        task = progress.add_task("", total=count_files(paths))
        report = run_ingest(paths, store=store, prune=prune,
                            progress=lambda path: progress.update(task, advance=1, description=path.name))
    for path, reason in report.failed:
        err.print(f"[yellow]skipped {escape(str(path))}: {escape(reason)}[/]")
    out.print(report.summary())
    if report.failed and not (report.files_new or report.files_changed or report.files_unchanged):
        # Nothing could be read: a wrong path, say. Scripts must see it failed.
        raise typer.Exit(1)


@app.command()
def search(query: str = typer.Argument(..., help="What to look for."),
           k: int = typer.Option(4, "-k", help="How many chunks."),
           collection: str = typer.Option(None, help="Collection name."),
           mmr: bool = typer.Option(False, help="Diversify results (maximal marginal relevance)."),
           threshold: float = typer.Option(None, help="Minimum relevance (0-1).")) -> None:
    """Show the chunks that best match QUERY, with scores and sources."""
    from plait.retrieval import search as run_search
    from plait.retrieval import vector_store

    hits = run_search(query, store=vector_store(collection), k=k, mmr=mmr, threshold=threshold)
    if not hits:
        out.print("no matching chunks" + (f" above {threshold}" if threshold is not None else ""))
        return
    table = Table(show_lines=True)
    for column in ("#", "score", "source", "chunk"):
        table.add_column(column, overflow="fold")
    for i, hit in enumerate(hits, 1):
        heading = " — ".join(p for p in (hit.title, hit.section) if p)
        table.add_row(str(i), f"{hit.score:.3f}", f"{Path(hit.source).name}\n{heading}", hit.text.split("\n", 1)[-1])
    out.print(table)
