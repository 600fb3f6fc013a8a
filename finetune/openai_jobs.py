"""OpenAI fine-tuning jobs: upload chat JSONL, start a job, follow it, cancel it; thin calls over the official client.

The same calls work against any OpenAI-compatible server: pass ``base_url`` (or set
``OPENAI_BASE_URL``). Every function takes an optional ``client=`` (from :func:`client`);
without one it builds a client from the environment. Client errors become
:class:`~plait.errors.PlaitError` messages that say what to do.

To continue training a model you already fine-tuned, pass its id as the base model:
``create_job(file_id, model="ft:gpt-4o-mini-2024-07-18:my-org::abc123")`` (the plait
reference ``"openai:ft:..."`` works too).

Example:
    >>> from plait.finetune import openai_jobs as jobs
    >>> api = jobs.client()                                                    # doctest: +SKIP
    >>> file_id = jobs.upload("data/train.jsonl", client=api)                  # doctest: +SKIP
    >>> job = jobs.create_job(file_id, model="gpt-4o-mini-2024-07-18", n_epochs=3, client=api)  # doctest: +SKIP
    >>> job = jobs.follow(job.id, on_event=lambda e: print(e.message), client=api)  # doctest: +SKIP
    >>> jobs.fine_tuned_reference(job)                                         # doctest: +SKIP
    'openai:ft:gpt-4o-mini-2024-07-18:my-org::abc123'
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import openai
from openai import OpenAI
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent

from plait.errors import MissingAPIKeyError, PlaitError
from plait.finetune.data import DataError
from plait.records import RecordError, parse_jsonl

KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
"""Job statuses after which a job no longer changes."""
ROLES = ("system", "user", "assistant")
_NOT_OPENAI = ("local", "gguf", "lora", "openai-compatible")


def client(*, api_key: str | None = None, base_url: str | None = None, timeout: float = 30.0,
           max_retries: int = 2) -> OpenAI:
    """Return an OpenAI client; the key and URL come from the arguments, else the environment.

    Example:
        >>> api = client(base_url="http://127.0.0.1:8000/v1", api_key="sk-local")
        >>> str(api.base_url)
        'http://127.0.0.1:8000/v1/'
    """
    key = api_key or os.environ.get(KEY_ENV)
    if not key:
        raise MissingAPIKeyError(f"Set {KEY_ENV} (or pass --api-key) to use OpenAI fine-tuning; local LoRA "
                                 "training needs no key: plait finetune train ...")
    url = base_url or os.environ.get(BASE_URL_ENV) or None
    return OpenAI(api_key=key, base_url=url, timeout=timeout, max_retries=max_retries)


def validate_chat_file(path: str | Path) -> int:
    """Check a chat JSONL file the way OpenAI will, locally; return its number of examples.

    Each line must be ``{"messages": [{"role": ..., "content": ...}, ...]}`` with roles
    system/user/assistant, non-empty text, and the assistant's answer last.

    Example:
        >>> validate_chat_file("data/train.jsonl")  # doctest: +SKIP
        240
    """
    return _count_examples(_read_bytes(Path(path)), Path(path))


def upload(path: str | Path, *, client: OpenAI | None = None) -> str:
    """Validate a chat JSONL file locally, then upload it for fine-tuning; return the file id.

    Example:
        >>> upload("data/train.jsonl")  # doctest: +SKIP
        'file-abc123'
    """
    path = Path(path)
    # Validate the very bytes that are sent, so a bad line fails here, not minutes later on the server.
    content = _read_bytes(path)
    _count_examples(content, path)
    api = client or _client_from_env()
    with _translated(api, f"upload of {path.name}"):
        return api.files.create(file=(path.name, content, "application/jsonl"), purpose="fine-tune").id


def create_job(training_file: str, *, model: str, validation_file: str | None = None, n_epochs: int | None = None,
               learning_rate_multiplier: float | None = None, batch_size: int | None = None,
               suffix: str | None = None, seed: int | None = None, client: OpenAI | None = None) -> FineTuningJob:
    """Start a supervised fine-tuning job on uploaded file ids; unset options use OpenAI's defaults.

    ``model`` is an OpenAI model name, a fine-tuned ``ft:...`` id (continues training it),
    or a plait reference ``openai:...``.

    Example:
        >>> job = create_job("file-abc123", model="gpt-4o-mini-2024-07-18", n_epochs=3)  # doctest: +SKIP
        >>> job.status  # doctest: +SKIP
        'validating_files'
    """
    base = _openai_model(model)
    hyperparameters = {k: v for k, v in (("n_epochs", n_epochs), ("batch_size", batch_size),
                                         ("learning_rate_multiplier", learning_rate_multiplier)) if v is not None}
    options = {k: v for k, v in (("validation_file", validation_file), ("suffix", suffix), ("seed", seed))
               if v is not None}
    if hyperparameters:  # `method` replaces the deprecated top-level `hyperparameters` argument
        options["method"] = {"type": "supervised", "supervised": {"hyperparameters": hyperparameters}}
    api = client or _client_from_env()
    with _translated(api, f"job on {training_file} with model {base}"):
        return api.fine_tuning.jobs.create(training_file=training_file, model=base, **options)


def status(job_id: str, *, client: OpenAI | None = None) -> FineTuningJob:
    """Return a job as it is now.

    Example:
        >>> status("ftjob-abc123").status  # doctest: +SKIP
        'running'
    """
    api = client or _client_from_env()
    with _translated(api, f"job {job_id}"):
        return api.fine_tuning.jobs.retrieve(job_id)


def list_jobs(limit: int = 20, *, client: OpenAI | None = None) -> list[FineTuningJob]:
    """Return the newest ``limit`` jobs, newest first.

    Example:
        >>> [job.id for job in list_jobs(limit=2)]  # doctest: +SKIP
        ['ftjob-def456', 'ftjob-abc123']
    """
    api = client or _client_from_env()
    with _translated(api, "fine-tuning jobs"):
        return list(api.fine_tuning.jobs.list(limit=limit).data)


def cancel(job_id: str, *, client: OpenAI | None = None) -> FineTuningJob:
    """Cancel a job that has not finished; return it.

    Example:
        >>> cancel("ftjob-abc123").status  # doctest: +SKIP
        'cancelled'
    """
    api = client or _client_from_env()
    with _translated(api, f"job {job_id}"):
        return api.fine_tuning.jobs.cancel(job_id)


def events(job_id: str, *, after: str | None = None, limit: int = 100,
           client: OpenAI | None = None) -> list[FineTuningJobEvent]:
    """Return a job's newest ``limit`` events, oldest first; with ``after``, only those newer than that event id.

    Example:
        >>> [e.message for e in events("ftjob-abc123")]  # doctest: +SKIP
        ['Created fine-tuning job', 'Validating training file', 'Fine-tuning job started']
    """
    api = client or _client_from_env()
    newest_first: list[FineTuningJobEvent] = []
    with _translated(api, f"job {job_id}"):
        # The API pages from the newest event back; `after` is the cursor into that order.
        page = api.fine_tuning.jobs.list_events(job_id, limit=limit)
        while True:
            for event in page.data:
                if event.id == after or len(newest_first) >= limit:
                    return newest_first[::-1]
                newest_first.append(event)
            if not page.has_next_page():
                return newest_first[::-1]
            page = page.get_next_page()


def follow(job_id: str, *, poll_seconds: float = 10, on_event: Callable[[FineTuningJobEvent], object] | None = None,
           timeout: float | None = None, client: OpenAI | None = None) -> FineTuningJob:
    """Poll a job until it succeeds, fails or is cancelled, passing each new event to ``on_event``; return it.

    A failed job raises :class:`PlaitError` with OpenAI's reason. ``timeout`` (seconds) stops
    waiting, not the job.

    Example:
        >>> job = follow("ftjob-abc123", on_event=lambda e: print(e.message))  # doctest: +SKIP
        Fine-tuning job started
        The job has successfully completed
        >>> job.fine_tuned_model  # doctest: +SKIP
        'ft:gpt-4o-mini-2024-07-18:my-org::abc123'
    """
    api = client or _client_from_env()
    deadline = None if timeout is None else time.monotonic() + timeout
    last_event = None
    while True:
        job = status(job_id, client=api)
        # Events are read after the status, so the ones that led to a final status are not missed.
        for event in events(job_id, after=last_event, client=api):
            last_event = event.id
            if on_event is not None:
                on_event(event)
        if job.status in TERMINAL:
            break
        if deadline is not None and time.monotonic() >= deadline:
            raise PlaitError(f"Job {job_id} is still {job.status} after {timeout:g} s; it keeps running at OpenAI. "
                             f"Follow it again with: plait finetune openai events {job_id} --follow")
        time.sleep(poll_seconds)
    if job.status == "failed":
        reason = job.error.message if job.error is not None and job.error.message else "no reason given"
        raise PlaitError(f"Fine-tuning job {job_id} failed: {reason}. Fix the cause and create a new job "
                         "(uploaded files can be reused by id).")
    return job


def fine_tuned_reference(job: FineTuningJob) -> str:
    """Return the plait reference (``openai:ft:...``) of a finished job's model, to bind to a role.

    Example:
        >>> fine_tuned_reference(follow("ftjob-abc123"))  # doctest: +SKIP
        'openai:ft:gpt-4o-mini-2024-07-18:my-org::abc123'
    """
    if not job.fine_tuned_model:
        raise PlaitError(f"Job {job.id} has no fine-tuned model (status {job.status}); wait for it with: "
                         f"plait finetune openai events {job.id} --follow")
    return f"openai:{job.fine_tuned_model}"


def _client_from_env() -> OpenAI:
    return client()


def _openai_model(model: str) -> str:
    name = model.strip().removeprefix("openai:")
    if not name:
        raise PlaitError("Pass the model to fine-tune, e.g. --model gpt-4o-mini-2024-07-18 (or ft:... to continue).")
    if name.partition(":")[0] in _NOT_OPENAI:
        raise PlaitError(f"{model} is not an OpenAI model; OpenAI fine-tunes its own models (e.g. "
                         "gpt-4o-mini-2024-07-18, or ft:... to continue). Train local models with: "
                         "plait finetune train ...")
    return name


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}. Pass a chat JSONL file, e.g. from "
                        "plait finetune prepare.") from exc


def _count_examples(content: bytes, path: Path) -> int:
    try:
        text = content.decode("utf-8")  # strict: these bytes are uploaded as they are
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8.") from exc
    count = 0
    try:
        # Blank lines are errors, not skipped: the file is uploaded exactly as it is.
        for number, row in parse_jsonl(text, source=str(path), skip_blank=False):
            _check_example(row, f"{path}:{number}")
            count += 1
    except RecordError as exc:
        raise DataError(str(exc)) from exc
    if not count:
        raise DataError(f"{path} holds no examples; write one chat example per line.")
    return count


def _check_example(row: object, where: str) -> None:
    messages = row.get("messages") if isinstance(row, dict) else None
    if not isinstance(messages, list) or not messages:
        raise DataError(f'{where}: expected {{"messages": [{{"role": ..., "content": ...}}, ...]}} with at least '
                        "one message.")
    for i, message in enumerate(messages, 1):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ROLES:
            raise DataError(f"{where}: message {i} has role {role!r}; use one of {', '.join(ROLES)}.")
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise DataError(f"{where}: message {i} ({role}) has no text; give it non-empty string content.")
    if messages[-1]["role"] != "assistant":
        raise DataError(f"{where}: the last message must be the assistant's answer (the text to learn).")


@contextmanager
def _translated(api: OpenAI, subject: str) -> Iterator[None]:
    """Turn the client's exceptions into PlaitErrors that say what to do."""
    url = str(api.base_url).rstrip("/")
    try:
        yield
    except openai.APIConnectionError as exc:  # timeouts are a subclass
        reason = exc.__cause__ or exc
        raise PlaitError(f"Cannot reach the OpenAI API at {url} ({reason}): check your connection or "
                         f"{BASE_URL_ENV}.") from exc
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise PlaitError(f"The OpenAI API at {url} refused the API key (HTTP {exc.status_code}: {_reason(exc)}); "
                         f"check {KEY_ENV} (or --api-key).") from exc
    except openai.NotFoundError as exc:
        raise PlaitError(f"The OpenAI API at {url} has no {subject} (HTTP 404: {_reason(exc)}); check the ID, "
                         "e.g. with: plait finetune openai list") from exc
    except openai.APIStatusError as exc:
        raise PlaitError(f"The OpenAI API at {url} refused the request for {subject} (HTTP {exc.status_code}: "
                         f"{_reason(exc)}); fix it and retry.") from exc


def _reason(exc: openai.APIStatusError) -> str:
    body = exc.body.get("error", exc.body) if isinstance(exc.body, dict) else None
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or exc.message)
