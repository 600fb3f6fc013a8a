"""OpenAI's fine-tuning API over plait's LoRA trainer: ``/v1/fine_tuning/jobs``.

- ``POST /v1/fine_tuning/jobs``: ``model`` is ``local:gemma-3-270m``, or ``lora:NAME`` to
  continue training an adapter; ``training_file`` / ``validation_file`` are ids from
  ``/v1/files``; ``hyperparameters`` (or ``method.supervised.hyperparameters``) take
  ``n_epochs``, ``batch_size`` and ``learning_rate_multiplier`` (times plait's default LoRA
  learning rate), each a number or ``"auto"``; ``suffix`` names the adapter; ``seed``.
- ``GET /v1/fine_tuning/jobs`` (``after``, ``limit``), ``GET /v1/fine_tuning/jobs/{id}``,
  ``POST /v1/fine_tuning/jobs/{id}/cancel``, ``GET /v1/fine_tuning/jobs/{id}/events``
  (``after``, ``limit``; newest first, with ``metrics`` events carrying step and loss).

Jobs run one at a time, oldest first, in the app's fine-tuning thread
(:mod:`plait.serve.fine_tuner`). A job that succeeds sets ``fine_tuned_model`` to
``lora:NAME``, usable at once in ``/v1/chat/completions``.

Example:
    >>> job = client.fine_tuning.jobs.create(model="local:gemma-3-270m", training_file=file.id,
    ...                                      hyperparameters={"n_epochs": 3})  # doctest: +SKIP
    >>> client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model  # doctest: +SKIP
    'lora:ft-3f1c0a9b2d4e'
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from plait.serve import job_records as records
from plait.serve.files import PURPOSE, check_examples, file_bytes, find_file
from plait.serve.fine_tuner import fine_tuner, lifespan
from plait.serve.storage import new_id

router = APIRouter(prefix="/v1/fine_tuning", lifespan=lifespan)
AUTO_EPOCHS = 3
"""``"auto"`` epochs."""
AUTO_BATCH_SIZE = 16
"""``"auto"`` batch size: this, or the number of training examples when there are fewer."""
_SUFFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


class Hyperparameters(BaseModel):
    """OpenAI's supervised hyperparameters."""

    model_config = ConfigDict(extra="ignore")
    n_epochs: Annotated[int, Field(ge=1, le=50)] | Literal["auto"] = "auto"
    batch_size: Annotated[int, Field(ge=1, le=256)] | Literal["auto"] = "auto"
    learning_rate_multiplier: Annotated[float, Field(gt=0, le=100)] | Literal["auto"] = "auto"


class Supervised(BaseModel):
    hyperparameters: Hyperparameters | None = None


class Method(BaseModel):
    type: Literal["supervised"] = "supervised"
    supervised: Supervised | None = None


class JobRequest(BaseModel):
    """The body of ``POST /v1/fine_tuning/jobs`` (``integrations`` and ``metadata`` are ignored)."""

    model_config = ConfigDict(extra="ignore")
    model: str
    training_file: str
    validation_file: str | None = None
    hyperparameters: Hyperparameters | None = None
    method: Method | None = None
    suffix: str | None = None
    seed: int | None = Field(default=None, ge=0, le=2_147_483_647)


def _bad(message: str, param: str | None = None, code: str | None = None, status: int = 400) -> HTTPException:
    return HTTPException(status, detail={"message": message, "param": param, "code": code})


def _base_model(model: str, request: Request) -> str:
    """Check ``model`` is the trainable base or a LoRA adapter plait trained; return it."""
    from plait.errors import PlaitError
    from plait.finetune.lora import BASE_REF
    from plait.finetune.store import adapter_dir, load_info

    if model == BASE_REF:
        return model
    settings = request.app.state.settings
    if model.startswith("lora:"):
        name = model.removeprefix("lora:")
        try:
            info = load_info(name, settings)
        except PlaitError as exc:
            raise _bad(f"{exc} GET /v1/models lists them as lora:NAME.", "model", "model_not_found") from exc
        if info.method == "lora" and (adapter_dir(name, settings) / "peft").is_dir():
            return model
        raise _bad(f"Adapter {name!r} is a {info.method} adapter without LoRA weights to continue; pass "
                   f"{BASE_REF} or a lora:NAME adapter trained by LoRA.", "model")
    raise _bad(f"plait serve fine-tunes {BASE_REF}, or continues a LoRA adapter it trained (lora:NAME); got "
               f"{model!r}. Fine-tune OpenAI models on OpenAI's own API.", "model", "model_not_supported")


def _examples(request: Request, file_id: str, param: str) -> list[dict[str, Any]]:
    row = find_file(request.app.state.data_dir, file_id)
    if row is None or row["purpose"] != PURPOSE:
        problem = "there is no such file" if row is None else f"its purpose is {row['purpose']!r}, not {PURPOSE!r}"
        raise _bad(f"Invalid {param} {file_id!r}: {problem}. Upload the data with POST /v1/files (purpose "
                   f"{PURPOSE!r}); GET /v1/files lists what is there.", param, "file_not_found")
    return check_examples(file_bytes(request.app.state.data_dir, row), row["filename"])


def _resolved(body: JobRequest, n_examples: int) -> dict[str, Any]:
    """Hyperparameters with ``"auto"`` replaced (``method`` wins over the deprecated top-level field)."""
    given = body.hyperparameters or Hyperparameters()
    if body.method and body.method.supervised and body.method.supervised.hyperparameters:
        given = body.method.supervised.hyperparameters
    auto = {"n_epochs": AUTO_EPOCHS, "batch_size": min(AUTO_BATCH_SIZE, n_examples), "learning_rate_multiplier": 1.0}
    return {name: auto[name] if value == "auto" else value for name, value in given.model_dump().items()}


def _job(request: Request, job_id: str) -> Any:
    row = records.find_job(request.app.state.data_dir, job_id)
    if row is None:
        raise _bad(f"No fine-tuning job {job_id!r}; GET /v1/fine_tuning/jobs lists them.", "fine_tuning_job_id",
                   "job_not_found", 404)
    return row


@router.post("/jobs")
def create_job(body: JobRequest, request: Request) -> dict[str, Any]:
    """Queue a LoRA fine-tuning job on uploaded files; it starts when the jobs before it are done."""
    data_dir: Path = request.app.state.data_dir
    model = _base_model(body.model, request)
    if body.suffix is not None and not _SUFFIX.match(body.suffix):
        raise _bad(f"suffix {body.suffix!r} is not allowed: use 1 to 40 letters, digits, '-', '_' or '.', starting "
                   "with a letter or digit.", "suffix")
    examples = _examples(request, body.training_file, "training_file")
    if body.validation_file is not None:
        _examples(request, body.validation_file, "validation_file")
    job_id = new_id("ftjob")
    seed = body.seed if body.seed is not None else secrets.randbelow(2**31)
    row = records.insert_job(data_dir, job_id=job_id, model=model, training_file=body.training_file,
                             validation_file=body.validation_file, adapter=f"{body.suffix or 'ft'}-{job_id[6:18]}",
                             hyperparameters=_resolved(body, len(examples)), seed=seed, suffix=body.suffix)
    records.add_event(data_dir, job_id, f"Validating training file: {body.training_file}"
                      + (f" and validation file: {body.validation_file}" if body.validation_file else ""))
    count = f"{len(examples)} training example{'s' if len(examples) != 1 else ''}"
    records.add_event(data_dir, job_id, f"Files validated ({count}), moving job to queued state")
    tuner = fine_tuner(request.app)
    tuner.start()  # a no-op when the app's lifespan started it; a mounted app's lifespan never runs
    tuner.wake()
    return records.job_object(row)


@router.get("/jobs")
def list_jobs(request: Request, after: str | None = None, limit: int = Query(20, ge=1, le=100)) -> dict[str, Any]:
    """Jobs, newest first; ``after`` is the last job id of the previous page."""
    found = records.list_jobs(request.app.state.data_dir, after=after, limit=limit)
    if found is None:
        raise _bad(f"after={after!r} names no fine-tuning job; pass the id of a job from the previous page.", "after",
                   status=404)
    rows, has_more = found
    return {"object": "list", "data": [records.job_object(row) for row in rows], "has_more": has_more}


@router.get("/jobs/{job_id}")
def retrieve_job(job_id: str, request: Request) -> dict[str, Any]:
    """One job as it is now."""
    return records.job_object(_job(request, job_id))


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: str, request: Request) -> dict[str, Any]:
    """Cancel a queued or running job; a running one stops at its next training step."""
    data_dir: Path = request.app.state.data_dir
    job = _job(request, job_id)
    if not records.set_status(data_dir, job_id, "cancelled", only_from=("validating_files", *records.RUNNABLE)):
        raise _bad(f"Job {job_id} has already {records.find_job(data_dir, job_id)['status']}; only queued or "
                   "running jobs can be cancelled.", "fine_tuning_job_id", "job_not_cancellable")
    records.add_event(data_dir, job_id, "Cancellation requested" if job["status"] == "running" else
                      "Fine-tuning job cancelled before it started")
    return records.job_object(_job(request, job_id))


@router.get("/jobs/{job_id}/events")
def list_events(job_id: str, request: Request, after: str | None = None,
                limit: int = Query(20, ge=1, le=1000)) -> dict[str, Any]:
    """A job's events, newest first; ``after`` is the last event id of the previous page."""
    _job(request, job_id)
    rows, has_more = records.list_events(request.app.state.data_dir, job_id, after=after, limit=limit)
    return {"object": "list", "data": [records.event_object(row) for row in rows], "has_more": has_more}
