"""Fine-tuning through `plait serve` with the official OpenAI client: files, jobs, events, cancel, restart.

Real LoRA training on the packaged base with tiny data (12 examples, batch 4: 3 steps an
epoch), so a job takes seconds once the converted base model is cached (~1 min the first time).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import openai
import pytest

from plait.config import Settings
from plait.serve import create_app
from tests.finetune.test_lora import EXAMPLES, LABELS  # the same tiny three-intent set

HYPER = {"n_epochs": 3, "batch_size": 4, "learning_rate_multiplier": 3.0}  # 3e-3: learns in 9 steps


def _jsonl(rows) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


@pytest.fixture(scope="module")
def tuning(tmp_path_factory, serve_settings):
    """Settings with an adapter store of their own, and the data folder of the servers."""
    root = Path(tmp_path_factory.mktemp("tuning"))
    return Settings(home=root / ".plait", tracing=False, local=serve_settings.local), root / "serve-data"


@pytest.fixture(scope="module")
def server(tuning, serve_running):
    settings, data_dir = tuning
    with serve_running(create_app(settings=settings, data_dir=data_dir, rate_limit_per_minute=0)) as base:
        yield base


def _client(base: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base, api_key="unused", max_retries=0, timeout=120)


def _upload(api: openai.OpenAI, rows=EXAMPLES, name: str = "train.jsonl"):
    return api.files.create(file=(name, _jsonl(rows), "application/jsonl"), purpose="fine-tune")


def _wait(api: openai.OpenAI, job_id: str, done, timeout: float = 600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.fine_tuning.jobs.retrieve(job_id)
        if done(job):
            return job
        time.sleep(0.5)
    messages = [e.message for e in api.fine_tuning.jobs.list_events(job_id, limit=50)]
    raise AssertionError(f"job {job_id} is still {job.status} after {timeout} s: {messages}")


def _messages(api: openai.OpenAI, job_id: str) -> list[str]:
    return [e.message for e in reversed(list(api.fine_tuning.jobs.list_events(job_id, limit=1000)))]


def _has_event(api: openai.OpenAI, job_id: str, text: str) -> bool:
    return any(text in m for m in _messages(api, job_id))


# ---- files and validation (no training) ---------------------------------------------------------

def test_files_round_trip_under_generated_names(server, tuning):
    api = _client(server)
    stored = _upload(api, name="../../escape.jsonl")
    assert stored.id.startswith("file-") and stored.object == "file" and stored.purpose == "fine-tune"
    assert stored.filename == "escape.jsonl" and stored.bytes == len(_jsonl(EXAMPLES))
    assert [p.name for p in (tuning[1] / "files").iterdir() if p.name == stored.id] == [stored.id]
    assert not (tuning[1].parent / "escape.jsonl").exists()
    assert api.files.retrieve(stored.id).filename == "escape.jsonl"
    assert stored.id in [f.id for f in api.files.list(purpose="fine-tune")]
    assert api.files.content(stored.id).content == _jsonl(EXAMPLES)
    assert api.files.delete(stored.id).deleted
    with pytest.raises(openai.NotFoundError, match="GET /v1/files lists"):
        api.files.retrieve(stored.id)


def test_bad_uploads_are_refused_with_the_line_at_fault(server):
    api = _client(server)
    good = json.dumps(EXAMPLES[0])
    cases = {
        "not valid JSON": [good, '{"messages": [', good],
        "unknown role 'bot'": [good, good, json.dumps({"messages": [{"role": "bot", "content": "hi"}]})],
        "has empty content": [good, json.dumps({"messages": [{"role": "user", "content": " "},
                                                             {"role": "assistant", "content": "x"}]})],
        "last message must be the assistant's": [json.dumps({"messages": [{"role": "user", "content": "hi"}]})],
    }
    lines = {"not valid JSON": 2, "unknown role 'bot'": 3, "has empty content": 2,
             "last message must be the assistant's": 1}
    for problem, rows in cases.items():
        content = ("\n".join(rows) + "\n").encode()
        with pytest.raises(openai.BadRequestError, match=f"data.jsonl:{lines[problem]}: .*{problem}") as info:
            api.files.create(file=("data.jsonl", content, "application/jsonl"), purpose="fine-tune")
        assert info.value.body["param"] == "file" and info.value.body["code"] == "invalid_file_format"
    with pytest.raises(openai.BadRequestError, match="not UTF-8"):
        api.files.create(file=("data.jsonl", b"\xff\xfe", "application/jsonl"), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError, match="purpose must be 'fine-tune'") as info:
        api.files.create(file=("data.jsonl", _jsonl(EXAMPLES), "application/jsonl"), purpose="assistants")
    assert info.value.body["param"] == "purpose"


def test_job_requests_are_checked_before_queueing(server):
    api = _client(server)
    with pytest.raises(openai.BadRequestError, match="'file-nope': there is no such file.*POST /v1/files") as info:
        api.fine_tuning.jobs.create(model="local:gemma-3-270m", training_file="file-nope")
    assert info.value.body["param"] == "training_file"
    training = _upload(api)
    with pytest.raises(openai.BadRequestError, match="fine-tunes local:gemma-3-270m") as info:
        api.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=training.id)
    assert info.value.body["param"] == "model"
    with pytest.raises(openai.BadRequestError, match="No adapter 'missing'"):
        api.fine_tuning.jobs.create(model="lora:missing", training_file=training.id)
    with pytest.raises(openai.BadRequestError, match="hyperparameters.n_epochs"):
        api.fine_tuning.jobs.create(model="local:gemma-3-270m", training_file=training.id,
                                    hyperparameters={"n_epochs": 0})
    with pytest.raises(openai.BadRequestError, match="suffix"):
        api.fine_tuning.jobs.create(model="local:gemma-3-270m", training_file=training.id, suffix="../x")
    with pytest.raises(openai.NotFoundError, match="No fine-tuning job 'ftjob-nope'"):
        api.fine_tuning.jobs.retrieve("ftjob-nope")
    assert api.fine_tuning.jobs.list().data == []  # nothing was queued


# ---- real training ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def finished(server):
    """One job trained to the end through the API."""
    api = _client(server)
    training, validation = _upload(api), _upload(api, EXAMPLES[::4], name="valid.jsonl")
    job = api.fine_tuning.jobs.create(model="local:gemma-3-270m", training_file=training.id,
                                      validation_file=validation.id, suffix="intents", seed=7,
                                      method={"type": "supervised", "supervised": {"hyperparameters": HYPER}})
    assert job.object == "fine_tuning.job" and job.id.startswith("ftjob-") and job.status == "queued"
    return _wait(api, job.id, lambda j: j.status in ("succeeded", "failed", "cancelled"))


@pytest.mark.real
def test_a_finished_job_serves_its_model_in_chat(server, finished):
    api = _client(server)
    job = finished
    assert job.status == "succeeded", job.error
    assert job.fine_tuned_model.startswith("lora:intents-") and job.trained_tokens > 0 and job.finished_at
    assert job.hyperparameters.n_epochs == 3 and job.hyperparameters.batch_size == 4
    assert job.seed == 7 and job.organization_id == "plait" and job.error is None
    events = list(api.fine_tuning.jobs.list_events(job.id, limit=1000))
    losses = [e.data["train_loss"] for e in reversed(events) if e.type == "metrics" and "train_loss" in e.data]
    assert len(losses) == 9 and losses[-1] < losses[0]
    assert events[0].message == "The job has successfully completed"
    results = api.files.content(job.result_files[0]).text.splitlines()
    assert results[0] == "step,train_loss,valid_loss" and len(results) > 9
    assert job.fine_tuned_model in [m.id for m in api.models.list()]
    reply = api.chat.completions.create(model=job.fine_tuned_model, max_tokens=8, temperature=0,
                                        messages=[{"role": "user", "content": "Text: I lost my card"}])
    assert reply.choices[0].message.content.strip().split()[0] in LABELS


@pytest.mark.real
def test_jobs_queue_in_order_and_cancel(server, finished):
    api = _client(server)
    training = _upload(api)
    first = api.fine_tuning.jobs.create(model=finished.fine_tuned_model, training_file=training.id,
                                        hyperparameters={"n_epochs": 50, "batch_size": 4})
    second = api.fine_tuning.jobs.create(model="local:gemma-3-270m", training_file=training.id)
    _wait(api, first.id, lambda j: j.status == "running" and _has_event(api, first.id, "Step 1/"))
    assert api.fine_tuning.jobs.retrieve(second.id).status == "queued"  # one job at a time
    assert api.fine_tuning.jobs.cancel(second.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="only queued or running jobs"):
        api.fine_tuning.jobs.cancel(second.id)
    with pytest.raises(openai.ConflictError, match="cancel it first"):
        api.files.delete(training.id)  # the running job still reads it
    assert api.fine_tuning.jobs.cancel(first.id).status == "cancelled"
    _wait(api, first.id, lambda j: _has_event(api, first.id, "Fine-tuning job cancelled at step"), timeout=120)
    cancelled = api.fine_tuning.jobs.retrieve(first.id)
    assert cancelled.fine_tuned_model is None and cancelled.finished_at
    listed = [j.id for j in api.fine_tuning.jobs.list(limit=100).data]
    assert listed[:2] == [second.id, first.id] and finished.id in listed  # newest first
    assert [j.id for j in api.fine_tuning.jobs.list(limit=1, after=second.id).data] == [first.id]


@pytest.mark.real
def test_a_job_that_cannot_train_fails_with_the_reason(server):
    api = _client(server)
    too_long = {"messages": [{"role": "user", "content": "word " * 600}, {"role": "assistant", "content": "x"}]}
    job = api.fine_tuning.jobs.create(model="local:gemma-3-270m", training_file=_upload(api, [too_long]).id)
    failed = _wait(api, job.id, lambda j: j.status in ("succeeded", "failed", "cancelled"))
    assert failed.status == "failed" and failed.fine_tuned_model is None
    assert failed.error.code == "training_failed" and "over max_tokens=512" in failed.error.message
    assert api.fine_tuning.jobs.list_events(job.id).data[0].level == "error"


@pytest.mark.real
def test_a_job_interrupted_by_a_restart_resumes_from_its_checkpoint(tuning, serve_running):
    settings, data_dir = tuning[0], tuning[1].with_name("restart-data")  # no other server's worker reads it
    with serve_running(create_app(settings=settings, data_dir=data_dir, rate_limit_per_minute=0)) as base:
        api = _client(base)
        job = api.fine_tuning.jobs.create(model="local:gemma-3-270m", training_file=_upload(api).id,
                                          hyperparameters=HYPER, suffix="restarted")
        _wait(api, job.id, lambda j: _has_event(api, job.id, "Checkpoint saved at step 3"))
    # The server stopped mid-job: training paused at its next step with a checkpoint.
    with serve_running(create_app(settings=settings, data_dir=data_dir, rate_limit_per_minute=0)) as base:
        api = _client(base)
        done = _wait(api, job.id, lambda j: j.status in ("succeeded", "failed", "cancelled"))
        messages = _messages(api, job.id)
    assert done.status == "succeeded", done.error
    paused = next(m for m in messages if m.startswith("Paused at step"))
    step = int(paused.split()[3].rstrip(":"))
    assert 3 <= step < 9
    assert "Fine-tuning job resumed after a server restart" in messages
    assert f"Resumed from the checkpoint at step {step}/9" in messages
    steps = [m for m in messages if m.startswith("Step ") and "training loss" in m]
    assert len(steps) == 9 and steps[step].startswith(f"Step {step + 1}/9")  # no step ran twice
