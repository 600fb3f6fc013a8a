"""``plait finetune prepare|train|eval|promote|rollback|list|curve`` (and ``openai ...``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.console import Console
from rich.table import Table

from plait.cli import app, err
from plait.records import MissingColumnError, RecordError, read_records

out = Console(highlight=False)
finetune_app = typer.Typer(help="Fine-tune a node: prepare data, train adapters, gate and promote them.",
                           no_args_is_help=True)
app.add_typer(finetune_app, name="finetune")
HEAD_METHODS = ("logreg", "setfit")
LLM_METHODS = ("lora", "prompt-tuning")


def _labelled_rows(path: Path, text_column: str, label_column: str) -> list[tuple[str, str]]:
    from plait.finetune.data import DataError

    kind = "csv" if path.suffix == ".csv" else "jsonl"  # any other suffix is read as JSON lines
    try:
        records = list(read_records(path, format=kind, columns=(text_column, label_column)))
    except MissingColumnError as exc:
        raise DataError(f"{exc} Pass --text-column / --label-column.") from exc
    except RecordError as exc:
        raise DataError(str(exc)) from exc
    rows = []
    for number, row in records:
        if text_column not in row or label_column not in row:
            raise DataError(f"{path}:{number}: expected JSON with {text_column!r} and {label_column!r}; this row has "
                            f"{sorted(row)}. Pass --text-column / --label-column.")
        rows.append((row[text_column], row[label_column]))
    return rows


@finetune_app.command()
def prepare(
    source: Path = typer.Argument(..., exists=True, dir_okay=False, help="Labelled CSV/JSONL, or chat JSONL."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for train/validation/test.jsonl."),
    text_column: str = typer.Option("text", help="Text column of labelled data."),
    label_column: str = typer.Option("label", help="Label column of labelled data."),
    fmt: str = typer.Option("chat", "--format", help="chat ({'messages': ...}) or completion (prompt/completion)."),
    split: str = typer.Option("0.8,0.1,0.1", help="train,validation,test fractions (stratified)."),
    seed: int = typer.Option(0, help="Split seed."),
    max_tokens: int = typer.Option(512, help="Reject examples longer than this (local tokenizer)."),
    epochs: int = typer.Option(3, help="Epochs, for the cost estimate."),
) -> None:
    """Build, validate, de-duplicate and split fine-tuning data; print tokens and costs."""
    from plait.config import load_settings
    from plait.finetune import data as ft
    from plait.models import resolve_model

    counter = resolve_model("local:gemma-3-270m").get_num_tokens
    first = source.read_text(encoding="utf-8").lstrip()[:200]
    if source.suffix == ".jsonl" and ('"messages"' in first or '"prompt"' in first):
        examples = ft.read_examples(source, max_tokens=max_tokens, count_tokens=counter)
    else:
        examples = ft.classification_examples(_labelled_rows(source, text_column, label_column))
        too_long = next((i for i, e in enumerate(examples, 1) if counter(ft.render_text(e)) > max_tokens), None)
        if too_long:
            raise ft.DataError(f"{source}: row {too_long} is over {max_tokens} tokens; shorten it or raise --max-tokens.")
    examples, dropped = ft.dedupe(examples)
    parts = ft.split_examples(examples, fractions=tuple(float(x) for x in split.split(",")), seed=seed)
    table = Table("split", "examples", "labels", "tokens")
    total_tokens = 0
    for name, part in parts.items():
        rows = part if fmt == "chat" else [_completion(e) for e in part]
        ft.write_jsonl(out_dir / f"{name}.jsonl", rows)
        tokens = sum(counter(ft.render_text(e)) for e in part)
        total_tokens += tokens if name == "train" else 0
        table.add_row(name, str(len(part)), str(len({ft.label_of(e) for e in part})), str(tokens))
    out.print(f"{len(examples)} examples ({dropped} duplicates dropped) -> {out_dir}/")
    out.print(table)
    for drift in ft.label_drift(parts):
        err.print(f"[yellow]warning: {drift.split} label distribution drifts from train (distance {drift.distance})"
                  + (f"; labels missing in train: {', '.join(drift.missing_in_train[:5])}" if drift.missing_in_train else "") + "[/]")
    costs = ft.cost_estimates(total_tokens, epochs=epochs, prices=load_settings().training_prices)
    out.print("training cost estimate (" + f"{total_tokens} tokens x {epochs} epochs, local tokenizer): "
              + ", ".join(f"{ref} ${usd:.2f}" for ref, usd in costs.items()))


def _completion(example: dict[str, Any]) -> dict[str, str]:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    from plait.models.render import render_transcript

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    prompt = render_transcript([kinds[m["role"]](m["content"]) for m in example["messages"][:-1]]).prompt
    return {"prompt": prompt, "completion": " " + example["messages"][-1]["content"]}


def _split(data_dir: Path, name: str, required: bool = True) -> list[dict[str, Any]]:
    from plait.finetune.data import DataError, read_examples

    path = data_dir / f"{name}.jsonl"
    if not path.is_file():
        if required:
            raise DataError(f"No {path}; run `plait finetune prepare DATA --out {data_dir}` first.")
        return []
    return read_examples(path)


@finetune_app.command()
def train(
    data_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Folder from `plait finetune prepare`."),
    name: str = typer.Option(..., help="Adapter name (stored in .plait/adapters/NAME)."),
    method: str = typer.Option("lora", help="lora, prompt-tuning (LLM adapters), logreg or setfit (embedding heads)."),
    epochs: int = typer.Option(2, help="Epochs (LLM adapters, setfit)."),
    learning_rate: float = typer.Option(None, "--lr", help="Learning rate (default by method)."),
    batch_size: int = typer.Option(16, help="Examples per step."),
    rank: int = typer.Option(16, help="LoRA rank."),
    alpha: int = typer.Option(32, help="LoRA alpha."),
    resume: bool = typer.Option(False, help="Continue an interrupted run from its last checkpoint."),
    from_adapter: str = typer.Option(None, "--from", help="Continue training this adapter on new data."),
    compare_head: bool = typer.Option(True, help="Also train a logreg embedding head and report both."),
) -> None:
    """Train an adapter on DATA_DIR/train.jsonl, validating on validation.jsonl."""
    from plait.finetune.data import prompt_task
    from plait.finetune.promote import dataset_from_examples

    train_rows, validation = _split(data_dir, "train"), _split(data_dir, "validation", required=False)
    results = []
    if method in HEAD_METHODS or compare_head:
        results.append(_train_head(f"{name}-head" if method not in HEAD_METHODS else name,
                                   method if method in HEAD_METHODS else "logreg", train_rows, validation, epochs))
    if method in LLM_METHODS:
        from plait.finetune import lora

        overrides = {"learning_rate": learning_rate} if learning_rate else {}
        options = lora.TrainOptions(method=method, epochs=epochs, batch_size=batch_size, rank=rank, alpha=alpha, **overrides)
        labels = sorted(dataset_from_examples(train_rows).labels())
        info = lora.train(name, train_rows, validation=validation, options=options, resume=resume,
                          base_adapter=from_adapter, task={"kind": "classification", "labels": labels,
                                                          "data": str(data_dir), **prompt_task()})
        results.append(info)
    elif method not in HEAD_METHODS:
        raise typer.BadParameter(f"Unknown method {method!r}; use one of {', '.join(LLM_METHODS + HEAD_METHODS)}.")
    table = Table("adapter", "method", "validation", "train seconds")
    for info in results:
        val = info.metrics.get("val_accuracy", info.metrics.get("val_loss"))
        table.add_row(f"lora:{info.name}", info.hyperparameters.get("method", info.method), f"{val}",
                      str(info.metrics.get("train_seconds")))
    out.print(table)


def _train_head(name: str, method: str, train_rows: list[dict], validation: list[dict], epochs: int) -> Any:
    from plait.finetune.head import train_head
    from plait.finetune.promote import dataset_from_examples

    data = dataset_from_examples(train_rows)
    val = dataset_from_examples(validation) if validation else None
    return train_head(name, [i.inputs["text"] for i in data], [i.expected for i in data], method=method, epochs=epochs,
                      validation=([i.inputs["text"] for i in val], [i.expected for i in val]) if val else None)


@finetune_app.command("eval")
def eval_adapter(name: str = typer.Argument(..., help="Adapter name."),
                 data: Path = typer.Option(..., exists=True, dir_okay=False, help="Chat JSONL split (e.g. test.jsonl)."),
                 limit: int = typer.Option(None, help="Evaluate a stratified sample of N items.")) -> None:
    """Evaluate lora:NAME on a split with the evaluation harness (stored: plait eval show)."""
    from plait.evaluate import evaluate, sample, target
    from plait.finetune.data import read_examples
    from plait.finetune.promote import dataset_from_examples
    from plait.finetune.store import load_info

    dataset = dataset_from_examples(read_examples(data), source=str(data))
    dataset = sample(dataset, limit) if limit else dataset
    labels = sorted({*dataset.labels(), *load_info(name).task.get("labels", [])})
    run = evaluate(target("classify", dataset, model=f"lora:{name}", labels=labels), dataset,
                   record={"model": f"lora:{name}"})
    out.print(f"lora:{name} on {data}: accuracy {run['metrics']['accuracy']:.3f} · macro-F1 "
              f"{run['metrics']['macro_f1']:.3f} · run {run['id']}")


@finetune_app.command()
def promote(name: str = typer.Argument(..., help="Adapter name."),
            role: str = typer.Option(..., help="Role to bind, e.g. classifier."),
            data: Path = typer.Option(None, exists=True, dir_okay=False, help="Validation split (chat JSONL)."),
            examples: Path = typer.Option(None, exists=True, dir_okay=False, help="Few-shot pool for the current model."),
            force: bool = typer.Option(False, help="Promote without the gate."),
            forgetting: bool = typer.Option(False, help="Also compare answers to general questions before/after.")) -> None:
    """Bind ROLE to lora:NAME in plait.toml if it beats the current binding on --data."""
    from plait.finetune import promote as gate
    from plait.finetune.data import read_examples

    dataset = gate.dataset_from_examples(read_examples(data), source=str(data)) if data else None
    shots = _split_pairs(examples) if examples else ()
    result = gate.promote(name, role=role, data=dataset, force=force, examples=shots)
    colour = "green" if result.promoted else "yellow"
    out.print(f"[{colour}]{'promoted' if result.promoted else 'not promoted'}[/]: {role} -> lora:{name} ({escape(result.reason)}); "
              f"previous binding: {result.previous or 'none (default)'}")
    if forgetting and result.promoted:
        report = gate.forgetting_check(result.previous or "local:gemma-3-270m", f"lora:{name}")
        out.print(f"forgetting check: general questions answered {report['before_score']:.0%} before, "
                  f"{report['after_score']:.0%} after")


def _split_pairs(path: Path) -> list[tuple[str, str]]:
    from plait.finetune.data import read_examples
    from plait.finetune.promote import dataset_from_examples

    if path.suffix == ".jsonl":
        return [(i.inputs["text"], i.expected) for i in dataset_from_examples(read_examples(path))]
    return _labelled_rows(path, "text", "label")


@finetune_app.command()
def rollback(role: str = typer.Argument(..., help="Role whose last promotion to undo.")) -> None:
    """Restore the binding ROLE had before its last promotion."""
    from plait.finetune.promote import rollback as undo

    removed, restored = undo(role)
    out.print(f"{role}: {removed} -> {restored or 'unbound (default)'}")


@finetune_app.command("list")
def list_adapters() -> None:
    """List stored adapters with their method, base, metrics and creation time."""
    from plait.finetune.store import list_adapters as stored

    table = Table("name", "method", "base", "metrics", "created")
    for info in stored():
        metrics = ", ".join(f"{k} {v}" for k, v in info.metrics.items() if k in ("val_accuracy", "val_loss", "train_seconds"))
        table.add_row(info.name, info.hyperparameters.get("method", info.method), info.base, metrics, info.created)
    out.print(table)


@finetune_app.command()
def curve(data_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Folder from `plait finetune prepare`."),
          name: str = typer.Option("curve", help="Prefix of the adapters trained."),
          method: str = typer.Option("logreg", help="logreg or setfit (lora: plait finetune train twice).")) -> None:
    """Train on 50% and 100% of the training split; report the gain, to judge whether more data would help."""
    from plait.finetune.data import split_examples

    train_rows, validation = _split(data_dir, "train"), _split(data_dir, "validation")
    half = split_examples(train_rows, fractions=(0.5, 0.5, 0.0), seed=0)["train"]
    scores = {}
    for share, rows in (("50%", half), ("100%", train_rows)):
        info = _train_head(f"{name}-{share.rstrip('%')}", method, rows, validation, 1)
        scores[share] = info.metrics["val_accuracy"]
        out.print(f"{share} of the data ({len(rows)} examples): validation accuracy {scores[share]:.3f}")
    gain = scores["100%"] - scores["50%"]
    verdict = "more data is likely to help" if gain > 0.02 else "more data is unlikely to help much"
    out.print(f"gain from doubling the data: {gain:+.3f} ({verdict})")


try:  # the OpenAI jobs commands, when that module is present
    from plait.cli.finetune_openai import openai_app

    finetune_app.add_typer(openai_app, name="openai")
except ImportError:  # pragma: no cover
    pass

from plait.cli import finetune_tools  # noqa: E402, F401  (registers `plait finetune tools`)
