"""OpenAI fine-tuning jobs against a local fake of the OpenAI API (the official client, unmodified)."""

from __future__ import annotations

import json
import socket
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
import typer
from typer.testing import CliRunner

from plait.cli.finetune_openai import openai_app
from plait.errors import PlaitError
from plait.finetune import openai_jobs as jobs

KEY = "sk-test"
EXAMPLE = {"messages": [{"role": "system", "content": "Classify."}, {"role": "user", "content": "Where is my card?"},
                        {"role": "assistant", "content": "card_arrival"}]}
# Each status check moves a job one step along its script; "fail" as suffix scripts a failure.
STEPS = {"queued": ("running", ["Fine-tuning job started", "Step 1/2: training loss=0.90 [bold]"]),
         "running": ("succeeded", ["Step 2/2: training loss=0.20", "The job has successfully completed"])}
FAIL_STEP = ("failed", ["Training file has too few examples"])


class FakeOpenAI:
    """Just the endpoints the fine-tuning calls use, with OpenAI-shaped JSON; records every request."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.files: dict[str, dict] = {}
        self.jobs: dict[str, dict] = {}
        self.events: dict[str, list[dict]] = {}
        self.clock = 1_700_000_000

    def handle(self, method: str, url: str, headers, body: bytes) -> tuple[int, dict]:
        path, query = urlparse(url).path, {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
        self.requests.append({"method": method, "path": path, "query": query, "body": body,
                              "content_type": headers.get("Content-Type", "")})
        if headers.get("Authorization") != f"Bearer {KEY}":
            return 401, _error("Incorrect API key provided: sk-wr***.", "invalid_api_key")
        parts = path.removeprefix("/v1/").split("/")
        if (method, parts) == ("POST", ["files"]):
            return 200, self.upload(body, headers.get("Content-Type", ""))
        if (method, parts) == ("POST", ["fine_tuning", "jobs"]):
            return 200, self.create(json.loads(body))
        if (method, parts) == ("GET", ["fine_tuning", "jobs"]):
            return 200, _page(sorted(self.jobs.values(), key=lambda j: j["created_at"], reverse=True), query)
        if len(parts) >= 3 and parts[:2] == ["fine_tuning", "jobs"]:
            job = self.jobs.get(parts[2])
            if job is None:
                return 404, _error(f"Could not find fine tune: {parts[2]}", "fine_tune_not_found")
            if method == "GET" and len(parts) == 3:
                return 200, self.advance(job)
            if method == "GET" and parts[3:] == ["events"]:
                return 200, _page(self.events[job["id"]][::-1], query)
            if method == "POST" and parts[3:] == ["cancel"]:
                job["status"] = "cancelled"
                self.add_event(job["id"], "Fine-tuning job cancelled")
                return 200, job
        return 404, _error(f"Unknown route {method} {path}", "not_found")

    def upload(self, body: bytes, content_type: str) -> dict:
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        fields = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = {"content": fields["file"].get_payload(decode=True),
                               "purpose": fields["purpose"].get_payload(decode=True).decode()}
        return {"id": file_id, "object": "file", "bytes": len(self.files[file_id]["content"]), "created_at": self.clock,
                "filename": fields["file"].get_filename(), "purpose": "fine-tune", "status": "processed"}

    def create(self, body: dict) -> dict:
        job_id = f"ftjob-{len(self.jobs) + 1}"
        self.clock += 1
        self.jobs[job_id] = {
            "id": job_id, "object": "fine_tuning.job", "created_at": self.clock, "model": body["model"],
            "status": "queued", "training_file": body["training_file"], "validation_file": body.get("validation_file"),
            "fine_tuned_model": None, "finished_at": None, "error": None, "organization_id": "org-test",
            "result_files": [], "seed": body.get("seed", 42), "trained_tokens": None, "suffix": body.get("suffix"),
            "hyperparameters": {"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"},
            "method": body.get("method", {"type": "supervised", "supervised": {"hyperparameters": {}}})}
        self.events[job_id] = []
        self.add_event(job_id, f"Created fine-tuning job: {job_id}")
        return self.jobs[job_id]

    def advance(self, job: dict) -> dict:
        if job["status"] in STEPS:
            failing = job["suffix"] == "fail" and job["status"] == "running"
            job["status"], messages = FAIL_STEP if failing else STEPS[job["status"]]
            for message in messages:
                self.add_event(job["id"], message, level="error" if failing else "info")
            if job["status"] == "failed":
                job["error"] = {"code": "invalid_training_file", "message": messages[0], "param": "training_file"}
            if job["status"] == "succeeded":
                job["fine_tuned_model"] = f"ft:{job['model']}:org-test::abc123"
                job["trained_tokens"] = 1234
                job["finished_at"] = self.clock
        return job

    def add_event(self, job_id: str, message: str, level: str = "info") -> None:
        self.clock += 1
        number = sum(len(e) for e in self.events.values()) + 1
        self.events[job_id].append({"id": f"ftevent-{number:03d}", "object": "fine_tuning.job.event",
                                    "created_at": self.clock, "level": level, "message": message, "type": "message"})

    def paths(self, method: str) -> list[str]:
        return [r["path"] for r in self.requests if r["method"] == method]


def _error(message: str, code: str) -> dict:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


def _page(newest_first: list[dict], query: dict) -> dict:
    """OpenAI's cursor pages: ``after`` is the id of the last item of the previous page."""
    ids = [item["id"] for item in newest_first]
    start = ids.index(query["after"]) + 1 if query.get("after") in ids else 0
    limit = min(int(query.get("limit", 20)), 3)  # a small server-side cap, so clients must page
    return {"object": "list", "data": newest_first[start:start + limit], "has_more": start + limit < len(ids)}


@pytest.fixture
def fake():
    """A FakeOpenAI served on 127.0.0.1; yields (fake, base_url)."""
    state = FakeOpenAI()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            code, payload = state.handle(self.command, self.path, self.headers, body)
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, *args) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture
def api(fake):
    return jobs.client(api_key=KEY, base_url=fake[1], max_retries=0, timeout=5)


def _write(path, rows) -> str:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_upload_sends_the_file_content_for_fine_tuning(fake, api, tmp_path):
    path = _write(tmp_path / "train.jsonl", [EXAMPLE, EXAMPLE])
    file_id = jobs.upload(path, client=api)
    assert fake[0].files[file_id] == {"content": (tmp_path / "train.jsonl").read_bytes(), "purpose": "fine-tune"}
    assert fake[0].requests[-1]["content_type"].startswith("multipart/form-data")


@pytest.mark.parametrize("line, problem", [
    ("{not json", "not valid JSON"),
    ({"prompt": "a", "completion": "b"}, '"messages"'),
    ({"messages": []}, '"messages"'),
    ({"messages": [{"role": "tool", "content": "x"}]}, "role 'tool'"),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "  "}]},
     "message 2 (assistant) has no text"),
    ({"messages": [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "x"}]},
     "last message must be the assistant"),
    ("", "empty line"),
])
def test_invalid_jsonl_names_the_line_and_sends_nothing(fake, api, tmp_path, line, problem):
    path = _write(tmp_path / "bad.jsonl", [EXAMPLE, EXAMPLE, line])
    with pytest.raises(PlaitError, match="bad.jsonl:3: ") as info:
        jobs.upload(path, client=api)
    assert problem in str(info.value)
    assert fake[0].requests == []


def test_create_job_sends_hyperparameters_and_strips_the_plait_prefix(fake, api):
    job = jobs.create_job("file-1", model="openai:ft:gpt-4o-mini-2024-07-18:org::prev", validation_file="file-2",
                          n_epochs=3, learning_rate_multiplier=0.5, suffix="banking", client=api)
    sent = json.loads(fake[0].requests[-1]["body"])
    assert sent == {"training_file": "file-1", "model": "ft:gpt-4o-mini-2024-07-18:org::prev",
                    "validation_file": "file-2", "suffix": "banking",
                    "method": {"type": "supervised", "supervised": {"hyperparameters": {
                        "n_epochs": 3, "learning_rate_multiplier": 0.5}}}}
    assert job.id == "ftjob-1" and job.status == "queued"


def test_create_job_without_hyperparameters_sends_no_method(fake, api):
    jobs.create_job("file-1", model="gpt-4o-mini-2024-07-18", client=api)
    assert json.loads(fake[0].requests[-1]["body"]) == {"training_file": "file-1", "model": "gpt-4o-mini-2024-07-18"}


def test_create_job_rejects_a_local_model_before_any_request(fake, api):
    with pytest.raises(PlaitError, match="plait finetune train"):
        jobs.create_job("file-1", model="local:gemma-3-270m", client=api)
    assert fake[0].requests == []


def test_follow_reports_every_event_once_oldest_first_and_returns_the_model(fake, api):
    job = jobs.create_job("file-1", model="gpt-4o-mini-2024-07-18", client=api)
    seen = []
    final = jobs.follow(job.id, poll_seconds=0.01, on_event=lambda e: seen.append(e.message), client=api)
    assert final.status == "succeeded"
    assert seen == ["Created fine-tuning job: ftjob-1", "Fine-tuning job started", "Step 1/2: training loss=0.90 [bold]",
                    "Step 2/2: training loss=0.20", "The job has successfully completed"]
    assert jobs.fine_tuned_reference(final) == "openai:ft:gpt-4o-mini-2024-07-18:org-test::abc123"


def test_events_are_oldest_first_and_page_back_to_after(fake, api):
    job = jobs.create_job("file-1", model="gpt-4o-mini-2024-07-18", client=api)
    jobs.status(job.id, client=api), jobs.status(job.id, client=api)
    every = jobs.events(job.id, client=api)
    assert [e.created_at for e in every] == sorted(e.created_at for e in every) and len(every) == 5
    assert any(r["query"].get("after") for r in fake[0].requests)  # 5 events, pages of 3
    assert [e.message for e in jobs.events(job.id, limit=2, client=api)] == [e.message for e in every[-2:]]
    assert jobs.events(job.id, after=every[0].id, limit=100, client=api) == every[1:]
    assert jobs.events(job.id, after=every[0].id, limit=1, client=api) == every[-1:]


def test_a_failed_job_raises_with_its_message(fake, api):
    job = jobs.create_job("file-1", model="gpt-4o-mini-2024-07-18", suffix="fail", client=api)
    with pytest.raises(PlaitError, match="ftjob-1 failed: Training file has too few examples"):
        jobs.follow(job.id, poll_seconds=0.01, client=api)


def test_follow_timeout_stops_waiting_with_a_hint(fake, api):
    job = jobs.create_job("file-1", model="gpt-4o-mini-2024-07-18", client=api)
    with pytest.raises(PlaitError, match="still running .* events ftjob-1 --follow"):
        jobs.follow(job.id, poll_seconds=0.01, timeout=0, client=api)


def test_cancel_list_and_unknown_job(fake, api):
    first = jobs.create_job("file-1", model="gpt-4o-mini-2024-07-18", client=api)
    second = jobs.create_job("file-1", model="gpt-4.1-nano-2025-04-14", client=api)
    assert jobs.cancel(first.id, client=api).status == "cancelled"
    assert [j.id for j in jobs.list_jobs(limit=20, client=api)] == [second.id, first.id]
    assert jobs.follow(first.id, poll_seconds=0.01, client=api).status == "cancelled"
    with pytest.raises(PlaitError, match="has no job ftjob-missing .*404"):
        jobs.status("ftjob-missing", client=api)


def test_missing_key_is_a_clear_error_without_network(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    with pytest.raises(PlaitError, match="Set OPENAI_API_KEY .*plait finetune train"):
        jobs.client()
    with pytest.raises(PlaitError, match="Set OPENAI_API_KEY"):
        jobs.status("ftjob-1")


def test_key_and_url_come_from_the_environment(fake, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake[1])
    assert jobs.list_jobs() == []
    assert fake[0].paths("GET") == ["/v1/fine_tuning/jobs"]


def test_a_wrong_key_names_the_env_var(fake):
    wrong = jobs.client(api_key="sk-wrong", base_url=fake[1], max_retries=0)
    with pytest.raises(PlaitError, match="refused the API key .*OPENAI_API_KEY"):
        jobs.list_jobs(client=wrong)


def test_an_unreachable_server_fails_fast_with_the_url():
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = jobs.client(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0, timeout=2)
    started = time.monotonic()
    with pytest.raises(PlaitError, match=f"Cannot reach the OpenAI API at http://127.0.0.1:{port}/v1 .*OPENAI_BASE_URL"):
        jobs.status("ftjob-1", client=unreachable)
    assert time.monotonic() - started < 5


# --- CLI, mounted on a local app as `plait finetune openai` will mount it ---

runner = CliRunner()
cli = typer.Typer()
cli.add_typer(openai_app, name="openai")


@pytest.fixture
def env(fake, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("OPENAI_BASE_URL", fake[1])
    return fake[0]


def test_cli_create_uploads_and_follows_to_the_model(env, tmp_path):
    path = _write(tmp_path / "train.jsonl", [EXAMPLE])
    result = runner.invoke(cli, ["openai", "create", path, "--model", "gpt-4o-mini-2024-07-18", "--epochs", "2",
                                 "--batch-size", "4", "--follow", "--poll-seconds", "0.01", "--api-key", KEY])
    assert result.exit_code == 0, result.output
    assert "uploaded" in result.output and "file-1" in result.output and "created job ftjob-1" in result.output
    assert "The job has successfully completed" in result.output
    assert '[models] classifier = "openai:ft:gpt-4o-mini-2024-07-18:org-test::abc123"' in result.output
    sent = json.loads(next(r["body"] for r in env.requests if r["path"] == "/v1/fine_tuning/jobs"))
    assert sent["method"]["supervised"]["hyperparameters"] == {"n_epochs": 2, "batch_size": 4}


def test_cli_status_events_cancel_and_list(env, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    env.create({"model": "gpt-4o-mini-2024-07-18", "training_file": "file-1"})
    status = runner.invoke(cli, ["openai", "status", "ftjob-1"])
    assert status.exit_code == 0, status.output
    assert "ftjob-1" in status.output and "status: running" in status.output
    events = runner.invoke(cli, ["openai", "events", "ftjob-1"])
    lines = [line for line in events.output.splitlines() if line.strip()]
    assert "Created fine-tuning job" in lines[0] and "training loss=0.90 [bold]" in lines[-1]  # markup is escaped
    assert "cancelled" in runner.invoke(cli, ["openai", "cancel", "ftjob-1"]).output
    listing = runner.invoke(cli, ["openai", "list"])
    assert listing.exit_code == 0 and "ftjob-1" in listing.output and "cancelled" in listing.output


def test_cli_errors_are_plait_errors_for_main_to_print(env, tmp_path):
    result = runner.invoke(cli, ["openai", "list"])
    assert isinstance(result.exception, PlaitError) and "OPENAI_API_KEY" in str(result.exception)
    bad = _write(tmp_path / "bad.jsonl", [{"messages": [{"role": "user", "content": "hi"}]}])
    result = runner.invoke(cli, ["openai", "upload", bad, "--api-key", KEY])
    assert isinstance(result.exception, PlaitError) and "bad.jsonl:1" in str(result.exception)
    assert env.requests == []
