"""``plait classify`` (bulk classification of a CSV) and ``plait moderate``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.console import Console

from plait.cli import app, err
from plait.errors import PlaitError
from plait.records import FORMATS, MissingColumnError, read_records, stream_records

out = Console(highlight=False)


def read_labels(spec: str) -> list[str] | dict[str, list[str]]:
    """Labels from ``a,b,c``, a text file (one per line) or a JSON file (list, or primary -> secondaries)."""
    path = Path(spec)
    try:
        is_file = path.is_file()
    except (OSError, ValueError):  # too long, or a NUL byte, for a file name: it can only be a list
        is_file = False
    if not is_file:
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
    input_csv: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV (header row) or JSONL file."),
    labels: str = typer.Option(..., help="a,b,c or a file: one label per line, or JSON (list or two-level)."),
    out_file: Path = typer.Option(..., "--out", help="JSONL results, one line per row, in input order."),
    column: str = typer.Option("text", help="Column holding the text."),
    label_column: str = typer.Option(None, help="Column with true labels: prints accuracy and macro-F1."),
    examples: Path = typer.Option(None, exists=True, dir_okay=False, help="Few-shot examples (CSV or JSONL)."),
    k: int = typer.Option(8, help="Examples chosen per input by similarity (0 = show them all)."),
    batch_size: int = typer.Option(1, help="Texts per prompt (batch prompting); 1 = one per prompt."),
    concurrency: int = typer.Option(1, min=1, help="Requests in flight at once (remote models; local runs one)."),
    resume: bool = typer.Option(False, help="Keep the rows already in --out and do only the others."),
    batch_api: bool = typer.Option(False, "--batch-api", help="openai: models: OpenAI's Batch API (half price, "
                                   "within 24 h); run again to pick up a submitted batch."),
    model: str = typer.Option(None, "--model", "-m", help="Role or model reference (default: classifier role)."),
) -> None:
    """Classify every row of INPUT_CSV, streamed (any size), N requests at once, resumable after a kill."""
    from plait.bulk import BulkOptions, run_bulk
    from plait.chains import batch_classifier, classifier
    from plait.evaluate import classification_report

    label_spec = read_labels(labels)
    rows = stream_rows(input_csv, column, label_column)
    pool = read_examples(examples, column, label_column or "label") if examples else []
    options = {"model": model, "examples": pool, "k": k if pool and k > 0 else None}
    if batch_api:
        _batch_api(input_csv, column, label_column, label_spec, options, out_file)
        return
    node = batch_classifier(label_spec, batch_size=batch_size, **options) if batch_size > 1 else \
        classifier(label_spec, **options)
    gold, predicted, tokens, used = [], [], [0], [0, 0]

    def call(texts: list[str]) -> list:
        present = [t for t in texts if t.strip()]  # empty rows are reported, not sent
        found = iter((node.invoke(present) if batch_size > 1 else [node.invoke(present[0])]) if present else [])
        return [next(found) if t.strip() else PlaitError("empty text") for t in texts]

    def record(result) -> dict:
        tokens[0] += result.input_tokens + result.output_tokens
        used[0], used[1] = used[0] + result.input_tokens, used[1] + result.output_tokens
        return {"label": result.label, "confidence": result.confidence, "primary": result.primary,
                "secondary": result.secondary}

    def seen(line: dict) -> None:
        if label_column:
            gold.append(line["expected"])
            predicted.append(line.get("label"))

    report = run_bulk(rows, call, out_file, record=record, on_row=seen, resume=resume, failed={"label": None},
                      options=BulkOptions(concurrency=concurrency, batch_size=batch_size))
    n = max(1, report.done)
    for message in report.errors:
        err.print(f"[yellow]{escape(message)}[/]")
    out.print(f"{report.done} rows -> {out_file} ({report.failed} failed"
              f"{f', {report.skipped} already done' if report.skipped else ''}"
              f"{f', {report.retries} rate-limited calls retried' if report.retries else ''}) · "
              f"{tokens[0] / n:.0f} tokens/item · {report.seconds / n:.2f} s/item")
    if label_column and gold:
        result = classification_report(gold, predicted)  # a row that failed counts as wrong
        out.print(f"accuracy {result['accuracy']:.3f} · macro-F1 {result['macro_f1']:.3f}"
                  f"{' (rows of this run)' if report.skipped else ''}")
    _print_cost(model, *used, batch=False)


def _print_cost(model: str | None, tokens_in: int, tokens_out: int, *, batch: bool) -> None:
    """The run's cost from ``[prices]`` in plait.toml, and what the other way (online / Batch API) would cost."""
    from plait.config import load_settings
    from plait.models.refs import reference_for

    settings = load_settings()
    ref = reference_for(model, role="classifier", settings=settings)
    if ref not in settings.prices:
        return
    per_in, per_out = settings.prices[ref]
    online = (tokens_in * per_in + tokens_out * per_out) / 1e6  # [prices] are USD per million tokens
    spent, other = (online / 2, f"online it would have cost ${online:.4f}") if batch else \
        (online, f"the Batch API (--batch-api) would cost ${online / 2:.4f}")
    out.print(f"cost ${spent:.4f} ({tokens_in} input + {tokens_out} output tokens at {ref}'s \\[prices]); {other}")


def _batch_api(path: Path, column: str, label_column: str | None, label_spec, options: dict, out_file: Path) -> None:
    """``plait classify --batch-api``: the same prompts, sent through OpenAI's Batch API."""
    from plait.chains.classify import classify_messages
    from plait.chains.labels import label_set, match_label
    from plait.config import load_settings
    from plait.evaluate import classification_report
    from plait.models.refs import parse_ref, reference_for
    from plait.openai_batch import run_batch

    ref = parse_ref(reference_for(options["model"], role="classifier", settings=load_settings()))
    if ref.scheme != "openai":
        raise typer.BadParameter(f"--batch-api sends requests to OpenAI; {ref} is not an openai: model. Pass "
                                 "--model openai:gpt-4o-mini (or bind the classifier role to one).", param_hint="--model")
    labelset, build = label_set(label_spec), classify_messages(label_spec, examples=options["examples"], k=options["k"])
    roles = {"system": "system", "human": "user", "ai": "assistant"}

    def messages(text: str) -> list[dict[str, str]]:
        return [{"role": roles[m.type], "content": str(m.content)} for m in build(text)]

    report = run_batch(lambda: stream_rows(path, column, label_column), model=ref.name, messages=messages,
                       parse=lambda reply: match_label(reply, labelset), out=out_file,
                       record=lambda label: {"label": label}, failed={"label": None})
    for message in report.errors:
        err.print(f"[yellow]{escape(message)}[/]")
    out.print(f"{report.done} rows -> {out_file} ({report.failed} failed) via the Batch API")
    _print_cost(options["model"], report.usage[0], report.usage[1], batch=True)
    if label_column:
        lines = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
        result = classification_report([x["expected"] for x in lines], [x["label"] for x in lines])
        out.print(f"accuracy {result['accuracy']:.3f} · macro-F1 {result['macro_f1']:.3f}")


def stream_rows(path: Path, column: str, label_column: str | None):
    """(row number, text, {"expected": label}) for each row of ``path``, read as it goes (constant memory)."""
    kind = "jsonl" if path.suffix.lower() == ".jsonl" else "csv"
    wanted = [c for c in (column, label_column) if c]
    try:
        for number, (line, row) in enumerate(stream_records(path, format=kind, columns=wanted), 1):
            missing = [c for c in wanted if c not in row]
            if missing:
                raise typer.BadParameter(f"{path}:{line} has no field {missing[0]!r}; it has {sorted(row)}.")
            yield (number, str(row[column] or ""), {"expected": row[label_column]} if label_column else {})
    except MissingColumnError as exc:  # a wrong --column / --label-column: a usage error (exit 2)
        raise typer.BadParameter(str(exc)) from exc


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
        out.print(f"  - {escape(reason)}")
    if result.redacted != text:
        out.print(f"redacted: {escape(result.redacted)}")
