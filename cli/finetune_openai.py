"""``plait finetune openai upload|create|status|events|cancel|list``: OpenAI fine-tuning jobs.

Mounted by :mod:`plait.cli.finetune`; the work is done by :mod:`plait.finetune.openai_jobs`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:  # the openai client is imported only when a command runs, to keep `plait --help` fast
    from openai import OpenAI
    from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent

openai_app = typer.Typer(help="Fine-tune OpenAI models: upload chat JSONL, start, follow and cancel jobs "
                              "(needs OPENAI_API_KEY; OPENAI_BASE_URL for a compatible server).",
                         no_args_is_help=True)
out = Console(highlight=False)

API_KEY = typer.Option(None, "--api-key", help="API key (default: $OPENAI_API_KEY).")
BASE_URL = typer.Option(None, "--base-url", help="API URL, e.g. http://127.0.0.1:8000/v1 (default: $OPENAI_BASE_URL "
                                                 "or OpenAI).")
POLL = typer.Option(10.0, "--poll-seconds", min=0.0, help="Seconds between status checks with --follow.")


def _api(api_key: str | None, base_url: str | None) -> OpenAI:
    from plait.finetune.openai_jobs import client

    return client(api_key=api_key, base_url=base_url)


def _file_id(api: OpenAI, file: str, option: str) -> str:
    """Upload a local file; a ``file-...`` argument that is no local file is taken as an uploaded file id."""
    from plait.finetune.openai_jobs import upload

    path = Path(file)
    if path.is_file():
        file_id = upload(path, client=api)
        out.print(f"uploaded {escape(str(path))} as [bold]{file_id}[/]")
        return file_id
    if file.startswith("file-"):
        return file
    raise typer.BadParameter(f"{file} is neither a file nor an uploaded file id (file-...).", param_hint=option)


def _event_line(event: FineTuningJobEvent) -> str:
    colour = {"warn": "yellow", "error": "red"}.get(event.level, "dim")
    stamp = datetime.fromtimestamp(event.created_at).strftime("%H:%M:%S")
    return f"[{colour}]{stamp}[/] {escape(event.message)}"


def _follow(api: OpenAI, job_id: str, poll_seconds: float) -> FineTuningJob:
    from plait.finetune.openai_jobs import follow

    # Events print above the spinner only when both use the same console.
    with out.status(f"following {job_id} (Ctrl-C stops watching, not the job)") as spinner:
        def show(event: FineTuningJobEvent) -> None:
            out.print(_event_line(event))
            spinner.update(f"{job_id}: {escape(event.message)}")

        job = follow(job_id, poll_seconds=poll_seconds, on_event=show, client=api)
    _print_outcome(job)
    return job


def _print_outcome(job: FineTuningJob) -> None:
    from plait.finetune.openai_jobs import fine_tuned_reference

    if job.status != "succeeded":
        out.print(f"[yellow]{job.id}: {job.status}[/]")
        return
    ref = fine_tuned_reference(job)
    out.print(f"[green]succeeded[/]: {ref}")
    out.print(f'bind it to a role in plait.toml, e.g. \\[models] classifier = "{ref}"')


@openai_app.command()
def upload(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Chat JSONL ({'messages': [...]})."),
           api_key: str = API_KEY, base_url: str = BASE_URL) -> None:
    """Validate a chat JSONL file locally and upload it for fine-tuning."""
    _file_id(_api(api_key, base_url), str(file), "FILE")


@openai_app.command()
def create(file: str = typer.Argument(..., help="Training chat JSONL, or an uploaded file id (file-...)."),
           model: str = typer.Option(..., help="Base model, e.g. gpt-4o-mini-2024-07-18; ft:... continues a fine-tune."),
           validation: str = typer.Option(None, help="Validation chat JSONL, or an uploaded file id."),
           epochs: int = typer.Option(None, min=1, help="Epochs (default: OpenAI picks)."),
           lr_multiplier: float = typer.Option(None, min=0.0, help="Learning-rate multiplier (default: OpenAI picks)."),
           batch_size: int = typer.Option(None, min=1, help="Batch size (default: OpenAI picks)."),
           suffix: str = typer.Option(None, help="Up to 64 characters added to the fine-tuned model's name."),
           seed: int = typer.Option(None, help="Seed, for a reproducible job."),
           follow: bool = typer.Option(False, "--follow", help="Wait for the job, printing its events."),
           poll_seconds: float = POLL, api_key: str = API_KEY, base_url: str = BASE_URL) -> None:
    """Upload the data (if local) and start a fine-tuning job."""
    from plait.finetune.openai_jobs import create_job

    api = _api(api_key, base_url)
    training_id = _file_id(api, file, "FILE")
    validation_id = _file_id(api, validation, "--validation") if validation else None
    job = create_job(training_id, model=model, validation_file=validation_id, n_epochs=epochs,
                     learning_rate_multiplier=lr_multiplier, batch_size=batch_size, suffix=suffix, seed=seed,
                     client=api)
    out.print(f"created job [bold]{job.id}[/] ({job.model}, {job.status})")
    if follow:
        _follow(api, job.id, poll_seconds)
    else:
        out.print(f"follow it with: plait finetune openai events {job.id} --follow")


@openai_app.command()
def status(job_id: str = typer.Argument(..., metavar="JOB", help="Job id (ftjob-...)."),
           api_key: str = API_KEY, base_url: str = BASE_URL) -> None:
    """Show a job: status, models, data, hyperparameters, error."""
    from plait.finetune.openai_jobs import status as job_status

    job = job_status(job_id, client=_api(api_key, base_url))
    method = job.method.supervised if job.method is not None and job.method.supervised is not None else job
    hyper = method.hyperparameters.model_dump(exclude_none=True) if method.hyperparameters is not None else {}
    rows = {"status": job.status, "model": job.model,
            "fine-tuned": f"openai:{job.fine_tuned_model}" if job.fine_tuned_model else "-",
            "training file": job.training_file, "validation file": job.validation_file or "-",
            "hyperparameters": ", ".join(f"{k}={v}" for k, v in hyper.items()) or "-",
            "trained tokens": job.trained_tokens if job.trained_tokens is not None else "-",
            "created": _when(job.created_at), "finished": _when(job.finished_at)}
    if job.error is not None and job.error.message:
        rows["error"] = f"[red]{escape(job.error.message)}[/]"
    out.print(f"[bold]{job.id}[/]")
    for key, value in rows.items():
        out.print(f"  {key}: {value}")


@openai_app.command()
def events(job_id: str = typer.Argument(..., metavar="JOB", help="Job id (ftjob-...)."),
           limit: int = typer.Option(100, min=1, help="Newest events to show."),
           follow: bool = typer.Option(False, "--follow", help="Keep printing new events until the job ends."),
           poll_seconds: float = POLL, api_key: str = API_KEY, base_url: str = BASE_URL) -> None:
    """Print a job's events, oldest first."""
    from plait.finetune.openai_jobs import events as job_events

    api = _api(api_key, base_url)
    if follow:
        _follow(api, job_id, poll_seconds)
        return
    for event in job_events(job_id, limit=limit, client=api):
        out.print(_event_line(event))


@openai_app.command()
def cancel(job_id: str = typer.Argument(..., metavar="JOB", help="Job id (ftjob-...)."),
           api_key: str = API_KEY, base_url: str = BASE_URL) -> None:
    """Cancel a job that has not finished."""
    from plait.finetune.openai_jobs import cancel as cancel_job

    job = cancel_job(job_id, client=_api(api_key, base_url))
    out.print(f"{job.id}: {job.status}")


@openai_app.command("list")
def list_jobs(limit: int = typer.Option(20, min=1, help="Newest jobs to show."),
              api_key: str = API_KEY, base_url: str = BASE_URL) -> None:
    """List the newest fine-tuning jobs."""
    from plait.finetune.openai_jobs import list_jobs as newest

    table = Table("job", "status", "model", "fine-tuned model", "created")
    for job in newest(limit, client=_api(api_key, base_url)):
        table.add_row(job.id, job.status, job.model, job.fine_tuned_model or "-", _when(job.created_at))
    out.print(table)


def _when(timestamp: int | None) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M") if timestamp else "-"
