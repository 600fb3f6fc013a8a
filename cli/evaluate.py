"""``plait eval run|list|show|compare``: evaluate targets on datasets and compare the runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.console import Console
from rich.table import Table

from plait.cli import app

out = Console(highlight=False)
eval_app = typer.Typer(help="Evaluate chains, graphs and roles on labelled data; compare runs.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("run")
def run(
    target_spec: str = typer.Argument(..., metavar="TARGET", help="classify, rag, support, role:NAME or module:attr."),
    data: Path = typer.Option(..., exists=True, dir_okay=False, help="Dataset: CSV with a header row, or JSONL."),
    metric: list[str] = typer.Option(None, "--metric", help="Metric name or module:function (repeatable)."),
    model: str = typer.Option(None, "--model", "-m", help="Model reference or role overriding the target's."),
    prompt: str = typer.Option(None, help="Prompt overriding the target's: module:attr, file.py:attr or .toml/.json."),
    limit: int = typer.Option(None, help="Evaluate a stratified sample of N items (fixed --seed)."),
    seed: int = typer.Option(0, help="Seed for --limit sampling."),
    inputs: list[str] = typer.Option(None, "--input", help="Input field(s) (default: all but expected/id)."),
    expected: str = typer.Option(None, help="Expected-output field (default: expected/label/answer/output/target)."),
    examples: Path = typer.Option(None, exists=True, dir_okay=False, help="classify: few-shot pool (CSV/JSONL)."),
    k: int = typer.Option(8, help="classify: examples chosen per input by similarity (0 = all)."),
    labels: str = typer.Option(None, help="classify: a,b,c or a labels file (default: the dataset's labels)."),
    collection: str = typer.Option(None, help="rag/support: the Chroma collection."),
    batch_size: int = typer.Option(1, help="Items per prompt (batch prompting)."),
    concurrency: int = typer.Option(1, help="Items run at once (threads); remote models gain most."),
    name: str = typer.Option(None, help="A name for the run, usable in place of its id."),
    resume: str = typer.Option(None, help="Continue an interrupted run (id or name)."),
) -> None:
    """Run TARGET over a dataset, score it and store the run (Ctrl-C keeps what finished: --resume)."""
    from plait.cli.classify import read_examples, read_labels
    from plait.evaluate import evaluate, load_dataset, sample, target

    dataset = load_dataset(data, inputs=inputs or None, expected=expected)
    if limit:
        dataset = sample(dataset, limit, seed=seed)
    options: dict[str, Any] = {}
    if target_spec == "classify":
        field = next(iter(dataset.items[0].inputs))
        options = {"labels": read_labels(labels) if labels else None, "k": k,
                   "examples": read_examples(examples, field, expected or "label") if examples else ()}
    elif target_spec in ("rag", "support") and collection:
        options = {"collection": collection}
    try:
        tgt = target(target_spec, dataset, model=model, prompt=prompt, batch_size=batch_size, **options)
    except ValueError as exc:  # a factory refusing its options (e.g. examples with unknown labels)
        raise typer.BadParameter(str(exc)) from exc
    record = {"model": model, "prompt": prompt, "limit": limit, "seed": seed,
              "examples": str(examples) if examples else None, "k": k if examples else None}
    result = evaluate(tgt, dataset, metrics=metric or None, name=name, concurrency=concurrency,
                      resume=resume, record=record)
    out.print(f"run [bold]{result['name'] or result['id']}[/] · {result['status']} · {result['n']} items · "
              f"dataset {result['dataset_hash']}")
    _metrics_table(result["metrics"])
    if result["metrics"].get("errors"):
        out.print(f"[yellow]{result['metrics']['errors']} items failed: `plait eval show {result['id']} --errors`[/]")


@eval_app.command("list")
def list_runs(limit: int = typer.Option(20, help="How many runs, newest first.")) -> None:
    """List stored runs with their main metric."""
    from plait.evaluate import default_store

    table = Table("id", "name", "created", "status", "target", "prompts", "n", "main metric")
    for r in default_store().list(limit=limit):
        main = (r["config"].get("metrics") or ["-"])[0]
        value = r["metrics"].get(main)
        table.add_row(str(r["id"]), r["name"] or "", r["created"], r["status"], r["target"],
                      ", ".join(r["prompts"]), str(r["n"]), f"{main} {_fmt(value)}")
    out.print(table)


@eval_app.command("show")
def show(run_ref: str = typer.Argument(..., metavar="RUN", help="Run id or name (or latest)."),
         errors: bool = typer.Option(False, "--errors", help="List the items that failed."),
         items: int = typer.Option(0, help="Also print the first N items.")) -> None:
    """Show one run: what ran, its metrics, per-label scores, and optionally items."""
    from plait.evaluate import default_store

    store = default_store()
    r = store.get(run_ref)
    out.print(f"run [bold]{r['name'] or r['id']}[/] · {r['status']} · {r['created']}\n"
              f"target {r['target']} · prompts {', '.join(r['prompts']) or '-'} · models {', '.join(r['models']) or '-'}\n"
              f"dataset {r['dataset']} ({r['dataset_hash']}, {r['n']} items) · config {r['config']}")
    _metrics_table(r["metrics"])
    per_label = (r["report"] or {}).get("per_label") or {}
    if per_label:
        table = Table("label", "precision", "recall", "f1", "support")
        for label, s in sorted(per_label.items(), key=lambda kv: kv[1]["f1"]):
            table.add_row(label, _fmt(s["precision"]), _fmt(s["recall"]), _fmt(s["f1"]), str(s["support"]))
        out.print(table)
    rows = store.items(r["id"])
    chosen = [i for i in rows if i["error"]] if errors else rows[:items]
    for i in chosen:
        out.print(escape(f"- {i['item_id']}: {i['input']} -> {i['error'] or i['prediction']!r} (expected {i['expected']!r})"))


@eval_app.command("compare")
def compare_runs(a: str = typer.Argument(..., help="Baseline run (id or name)."),
                 b: str = typer.Argument(..., help="Candidate run (id or name)."),
                 html: Path = typer.Option(None, help="Write a self-contained HTML report with the plots."),
                 show_items: int = typer.Option(10, "--items", help="Regressed items to print.")) -> None:
    """Print A and B side by side with differences, a bootstrap interval, and regressed items."""
    from plait.evaluate import compare, default_store, html_report

    result = compare(default_store(), a, b)
    ra, rb = result["a"], result["b"]
    table = Table("metric", f"A: {ra['id']}", f"B: {rb['id']}", "B - A")
    for m in result["metrics"]:
        good = m["diff"] is not None and m["diff"] != 0 and (m["diff"] > 0) == m["higher_is_better"]
        colour = "green" if good else ("red" if m["diff"] else "white")
        table.add_row(m["name"], _fmt(m["a"]), _fmt(m["b"]), f"[{colour}]{_fmt(m['diff'], signed=True)}[/]")
    out.print(f"A: {ra['target']} {', '.join(ra['prompts'])} {', '.join(ra['models'])}\n"
              f"B: {rb['target']} {', '.join(rb['prompts'])} {', '.join(rb['models'])}")
    if ra["dataset_hash"] != rb["dataset_hash"]:
        out.print(f"[yellow]The runs used different datasets ({ra['dataset_hash']} vs {rb['dataset_hash']}); "
                  f"items compared: {result['common_items']}.[/]")
    out.print(table)
    ci = result["ci"]
    if ci:
        out.print(f"{ci['metric']}: {ci['diff']:+.3f} (95% CI {ci['low']:+.3f} to {ci['high']:+.3f}, "
                  f"{ci['resamples']} paired bootstrap resamples over {result['common_items']} items)")
    out.print(f"{len(result['regressed'])} items regressed, {len(result['improved'])} improved")
    for row in result["regressed"][:show_items]:
        out.print(escape(f"  - {row['input'][:70]!r}: expected {row['expected']}, A {row['a']}, B {row['b']}"))
    if html:
        out.print(f"report: {html_report(result, html)}")


def _metrics_table(metrics: dict[str, Any]) -> None:
    table = Table("metric", "value")
    for key, value in metrics.items():
        table.add_row(key, _fmt(value))
    out.print(table)


def _fmt(value: Any, *, signed: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:+.3f}" if signed else f"{value:.3f}"
    return f"{value:+d}" if signed and isinstance(value, int) else str(value)
