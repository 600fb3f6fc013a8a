"""OpenAI's Batch API flow against a local fake of its endpoints (no key, no network)."""

import json
import re

import httpx
import openai
import pytest

from plait.errors import PlaitError
from plait.openai_batch import run_batch, state_path


class FakeBatchAPI:
    """Files and batches, as OpenAI answers them; row 2's request fails; the batch runs for ``polls`` polls."""

    def __init__(self, polls=1):
        self.polls, self.uploads, self.requests, self.retrieved = polls, 0, [], 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if method == "POST" and path.endswith("/files"):
            self.uploads += 1
            body = request.content.decode("utf-8", "replace")
            self.requests = [json.loads(x) for x in re.findall(r'^\{"custom_id".*\}$', body, re.M)]
            return httpx.Response(200, json={"id": "file-in", "object": "file", "bytes": len(body), "created_at": 0,
                                             "filename": "requests.jsonl", "purpose": "batch", "status": "processed"})
        if method == "POST" and path.endswith("/batches"):
            assert json.loads(request.content)["endpoint"] == "/v1/chat/completions"
            return httpx.Response(200, json=self.batch("validating"))
        if method == "GET" and path.endswith("/batches/batch_1"):
            self.retrieved += 1
            return httpx.Response(200, json=self.batch("in_progress" if self.retrieved <= self.polls else "completed"))
        if method == "GET" and path.endswith("/files/file-out/content"):
            lines = [{"id": "r", "custom_id": r["custom_id"], "error": None,
                      "response": {"status_code": 200, "body": {"usage": {"prompt_tokens": 30, "completion_tokens": 1},
                                                                "choices": [{"message": {
                          "content": "shipping" if "parcel" in r["body"]["messages"][-1]["content"] else "refund"}}]}}}
                     for r in self.requests if not r["custom_id"].startswith("2:")]
            return httpx.Response(200, text="\n".join(json.dumps(x) for x in reversed(lines)))  # any order
        if method == "GET" and path.endswith("/files/file-err/content"):
            failed = [{"id": "e", "custom_id": r["custom_id"], "response": {"status_code": 400, "body": {
                "error": {"message": "Invalid request: context too long"}}}, "error": None}
                for r in self.requests if r["custom_id"].startswith("2:")]
            return httpx.Response(200, text="\n".join(json.dumps(x) for x in failed))
        return httpx.Response(404, json={"error": {"message": f"no fake for {method} {path}"}})

    def batch(self, status):
        done = status == "completed"
        return {"id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions", "input_file_id": "file-in",
                "completion_window": "24h", "status": status, "created_at": 0,
                "output_file_id": "file-out" if done else None, "error_file_id": "file-err" if done else None,
                "request_counts": {"total": len(self.requests), "completed": 2 if done else 0, "failed": 1 if done else 0}}


ROWS = [(1, "where is my parcel", {"expected": "shipping"}), (2, "x" * 50, {"expected": "refund"}),
        (3, "I want my money back", {"expected": "refund"})]


def client(fake):
    return openai.OpenAI(api_key="test", base_url="http://fake.local/v1", max_retries=0,
                         http_client=httpx.Client(transport=httpx.MockTransport(fake)))


def batch(out, fake, sleep=lambda s: None):
    return run_batch(lambda: iter(ROWS), model="gpt-4o-mini", out=out, client=client(fake), sleep=sleep,
                     messages=lambda text: [{"role": "user", "content": text}], parse=lambda reply: reply.strip(),
                     record=lambda label: {"label": label}, failed={"label": None}, progress=False)


def test_a_batch_is_submitted_followed_and_merged_in_input_order_with_per_row_errors(tmp_path):
    fake, out = FakeBatchAPI(polls=2), tmp_path / "out.jsonl"
    report = batch(out, fake)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["row"] for x in lines] == [1, 2, 3] and [x["label"] for x in lines] == ["shipping", None, "refund"]
    assert "context too long" in lines[1]["error"] and lines[0]["expected"] == "shipping"
    assert report.done == 3 and report.failed == 1 and fake.uploads == 1 and fake.retrieved == 3
    assert report.usage == [60, 2]  # the provider's token counts, for the cost at batch prices
    assert [r["body"]["model"] for r in fake.requests] == ["gpt-4o-mini"] * 3
    assert not state_path(out).exists()  # merged: nothing left to resume


def test_a_run_stopped_while_the_batch_runs_resumes_it_without_submitting_again(tmp_path):
    fake, out = FakeBatchAPI(polls=5), tmp_path / "out.jsonl"

    def interrupted(seconds):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        batch(out, fake, sleep=interrupted)
    assert json.loads(state_path(out).read_text())["batch_id"] == "batch_1" and not out.exists()
    batch(out, fake)
    assert fake.uploads == 1 and len(out.read_text().splitlines()) == 3


def test_a_failed_batch_says_why_and_how_to_start_again(tmp_path):
    fake = FakeBatchAPI()
    fake.batch = lambda status: {"id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions",
                                 "input_file_id": "file-in", "completion_window": "24h", "status": "failed",
                                 "created_at": 0, "errors": {"object": "list", "data": [
                                     {"code": "invalid_model", "message": "model not found"}]}}
    with pytest.raises(PlaitError, match=r"ended failed: model not found\. Remove .*batch.json"):
        batch(tmp_path / "out.jsonl", fake)
