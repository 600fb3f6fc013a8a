"""``plait classify`` (bulk classification of a CSV) and ``plait moderate``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from plait.cli import app, err
from plait.errors import PlaitError
from plait.records import FORMATS, MissingColumnError, read_records

out = Console(highlight=False)


def read_labels(spec: str) -> list[str] | dict[str, list[str]]:
    """Labels from ``a,b,c``, a text file (one per line) or a JSON file (list, or primary -> secondaries)."""
    path = Path(spec)
    if not path.is_file():
        labels = [label.strip() for label in spec.split(",") if label.strip()]
        if len(labels) < 2:
            raise typer.BadParameter(f"{spec!r} is neither a file nor a comma-separated list of 2+ labels.",
                                     param_hint="--labels")
        return labels
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"{path} is not valid JSON: {exc}", param_hint="--labels") from exc
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_csv(path: Path, column: str, label_column: str | None) -> list[dict[str, str]]:
    """Rows of the CSV ``path``; checks the named columns exist."""
    try:
        return [row for _, row in read_records(path, format="csv", columns=[c for c in (column, label_column) if c])]
    except MissingColumnError as exc:  # a wrong --column / --label-column: a usage error (exit 2)
        raise typer.BadParameter(str(exc)) from exc


def read_examples(path: Path, column: str, label_column: str) -> list[tuple[str, str]]:
    """(text, label) examples from a CSV (same column names), or JSONL / JSON rows ``{"text", "label"}``."""
    kind = FORMATS.get(path.suffix.lower(), "csv")
    if kind == "csv":
        return [(row[column], row[label_column]) for row in read_csv(path, column, label_column)]
    pairs = []
    for number, row in read_records(path, format=kind):
        if "text" not in row or "label" not in row:
            raise PlaitError(f"{path}:{number}: each row must be {{\"text\": ..., \"label\": ...}}; this one has "
                             f"{sorted(row)}.")
        pairs.append((row["text"], row["label"]))
    return pairs


@app.command()
def classify(
    input_csv: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV file with a header row."),
    labels: str = typer.Option(..., help="a,b,c or a file: one label per line, or JSON (list or two-level)."),
    out_file: Path = typer.Option(..., "--out", help="JSONL results, one line per row."),
    column: str = typer.Option("text", help="Column holding the text."),
    label_column: str = typer.Option(None, help="Column with true labels: prints accuracy and macro-F1."),
    examples: Path = typer.Option(None, exists=True, dir_okay=False, help="Few-shot examples (CSV or JSONL)."),
    k: int = typer.Option(8, help="Examples chosen per input by similarity (0 = show them all)."),
    batch_size: int = typer.Option(1, help="Texts per prompt (batch prompting); 1 = one per prompt."),
    model: str = typer.Option(None, "--model", "-m", help="Role or model reference (default: classifier role)."),
) -> None:
    """Classify every row of INPUT_CSV, with a progress bar; rows that fail are reported, not fatal."""
    from plait.chains import batch_classifier, classifier
    from plait.evaluate import classification_report

    label_spec = read_labels(labels)
    rows = read_csv(input_csv, column, label_column)
    pool = read_examples(examples, column, label_column or "label") if examples else []
    options = {"model": model, "examples": pool, "k": k if pool and k > 0 else None}
    node = batch_classifier(label_spec, batch_size=batch_size, **options) if batch_size > 1 else \
        classifier(label_spec, **options)
    started, tokens, gold, predicted, failed = time.perf_counter(), 0, [], [], 0
    columns = (TextColumn("classifying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with out_file.open("w", encoding="utf-8") as sink, Progress(*columns, console=err) as progress:
        task = progress.add_task("rows", total=len(rows))
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            texts = [r[column] for r in chunk if r[column].strip()]  # empty rows are reported, not sent
            try:
                found = (node.invoke(texts) if batch_size > 1 else [node.invoke(texts[0])]) if texts else []
            except PlaitError as exc:  # e.g. unparseable output from a remote model: report, keep going
                found = [None] * len(texts)
                err.print(f"[yellow]rows {start + 1}-{start + len(chunk)}: {exc}[/]")
            answers = iter(found)
            results = [next(answers) if r[column].strip() else None for r in chunk]
            failed += results.count(None)
            for row, result in zip(chunk, results):
                record = {"text": row[column], "label": result.label if result else None,
                          "error": None if result else ("empty text" if not row[column].strip() else "not classified")}
                if result:
                    record.update(confidence=result.confidence, primary=result.primary, secondary=result.secondary)
                    tokens += result.input_tokens + result.output_tokens
                if label_column:
                    record["expected"] = row[label_column]
                    gold.append(row[label_column])
                    predicted.append(record["label"])
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            progress.advance(task, len(chunk))
    seconds = time.perf_counter() - started
    n = max(1, len(rows))
    out.print(f"{len(rows)} rows -> {out_file} ({failed} failed) · {tokens / n:.0f} tokens/item · "
              f"{seconds / n:.2f} s/item")
    if label_column and gold:
        report = classification_report(gold, predicted)  # a row that failed counts as wrong
        out.print(f"accuracy {report['accuracy']:.3f} · macro-F1 {report['macro_f1']:.3f}")


@app.command()
def moderate(text: str = typer.Argument(..., help="The message to check."),
             judge: str = typer.Option(None, help="Add an LLM judge: a role or model reference."),
             as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON.")) -> None:
    """Print the moderation decision for TEXT (local rules and classifier; no network)."""
    from plait.chains import moderator

    result = moderator(judge=judge).invoke(text)
    if as_json:
        print(result.model_dump_json())
        return
    colour = {"allow": "green", "flag": "yellow", "block": "red"}[result.decision]
    out.print(f"[bold {colour}]{result.decision}[/]" + (f" · {', '.join(result.categories)}" if result.categories else ""))
    for reason in result.reasons:
        out.print(f"  - {reason}")
    if result.redacted != text:
        out.print(f"redacted: {result.redacted}")
