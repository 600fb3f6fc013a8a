"""The bulk runner: input order, resume after a kill (a real SIGKILL), rate limits, torn lines."""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from plait.bulk import BulkOptions, done_keys, rate_limit_wait, row_key, run_bulk
from plait.errors import PlaitError


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def upper(texts):
    return [t.upper() for t in texts]


def test_results_are_written_in_input_order_whatever_finishes_first(tmp_path):
    rng = random.Random(0)
    in_flight, most = [0], [0]
    lock = threading.Lock()

    def slow(texts):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(rng.random() / 50)
        with lock:
            in_flight[0] -= 1
        return upper(texts)

    rows = [(i, f"text {i}") for i in range(1, 201)]
    report = run_bulk(rows, slow, tmp_path / "out.jsonl", record=lambda r: {"label": r},
                      options=BulkOptions(concurrency=8, batch_size=3), progress=False)
    out = lines(tmp_path / "out.jsonl")
    assert [r["row"] for r in out] == list(range(1, 201)) and out[4]["label"] == "TEXT 5"
    assert report.done == 200 and report.failed == 0 and most[0] > 1  # really concurrent


def test_a_job_killed_with_sigkill_resumes_without_losing_or_repeating_a_row(tmp_path):
    out = tmp_path / "out.jsonl"
    script = textwrap.dedent(f"""
        import time
        from plait.bulk import BulkOptions, run_bulk
        def slow(texts):
            time.sleep(0.01)
            return [t.upper() for t in texts]
        run_bulk(((i, f"text {{i}}") for i in range(1, 401)), slow, {str(out)!r},
                 record=lambda r: {{"label": r}}, options=BulkOptions(concurrency=4), progress=False)
    """)
    job = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 60
    while time.time() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 100):
        time.sleep(0.05)
    os.kill(job.pid, signal.SIGKILL)
    job.wait()
    first = len(out.read_text().splitlines())
    assert 100 <= first < 400
    calls = []

    def counted(texts):
        calls.extend(texts)
        return upper(texts)

    report = run_bulk(((i, f"text {i}") for i in range(1, 401)), counted, out, record=lambda r: {"label": r},
                      options=BulkOptions(concurrency=4), resume=True, progress=False)
    rows = [r["row"] for r in lines(out)]
    assert rows == list(range(1, 401))  # nothing lost, nothing twice, in input order
    assert report.skipped == len(done_keys(out)) - report.done and len(calls) == report.done == 400 - report.skipped


def test_a_torn_last_line_is_cut_and_redone(tmp_path):
    out = tmp_path / "out.jsonl"
    run_bulk([(1, "a"), (2, "b")], upper, out, record=lambda r: {"label": r}, progress=False)
    with out.open("a") as f:
        f.write('{"row": 3, "key": "3:')  # killed mid-write
    assert done_keys(out) == {row_key(1, "a"), row_key(2, "b")} and out.read_text().count("\n") == 2
    run_bulk([(1, "a"), (2, "b"), (3, "c")], upper, out, record=lambda r: {"label": r}, resume=True, progress=False)
    assert [r["label"] for r in lines(out)] == ["A", "B", "C"]


def test_a_changed_row_is_not_taken_for_done(tmp_path):
    out = tmp_path / "out.jsonl"
    run_bulk([(1, "a"), (2, "b")], upper, out, record=lambda r: {"label": r}, progress=False)
    report = run_bulk([(1, "a"), (2, "B!")], upper, out, record=lambda r: {"label": r}, resume=True, progress=False)
    assert report.skipped == 1 and report.done == 1


class RateLimited(Exception):
    status_code = 429

    def __init__(self, retry_after=None):
        super().__init__("429 Too Many Requests")
        self.response = type("Response", (), {"status_code": 429,
                                              "headers": {"retry-after": retry_after} if retry_after else {}})()


def test_rate_limits_are_retried_with_the_servers_wait_then_reported(tmp_path):
    waits, attempts = [], {"n": 0}

    def flaky(texts):
        attempts["n"] += 1
        if attempts["n"] <= 2:
            raise RateLimited(retry_after="3")
        return upper(texts)

    report = run_bulk([(1, "a")], flaky, tmp_path / "out.jsonl", record=lambda r: {"label": r},
                      progress=False, sleep=waits.append)
    assert waits == [3.0, 3.0] and report.retries == 2 and lines(tmp_path / "out.jsonl")[0]["label"] == "A"

    def always(texts):
        raise RateLimited()

    waits.clear()
    report = run_bulk([(1, "a"), (2, "b")], always, tmp_path / "out2.jsonl", record=lambda r: {"label": r},
                      options=BulkOptions(retries=3, backoff=0.5, max_wait=1.5, batch_size=2), progress=False,
                      sleep=waits.append)
    assert waits == [0.5, 1.0, 1.5] and report.failed == 2  # exponential, capped, then each row reported
    assert all("429" in r["error"] for r in lines(tmp_path / "out2.jsonl"))


def test_other_errors_fail_their_rows_and_the_job_goes_on(tmp_path):
    def picky(texts):
        if "bad" in texts:
            raise PlaitError("unparseable model output")
        return upper(texts)

    report = run_bulk([(1, "ok"), (2, "bad"), (3, "fine")], picky, tmp_path / "out.jsonl",
                      record=lambda r: {"label": r}, progress=False)
    out = lines(tmp_path / "out.jsonl")
    assert [r["error"] is None for r in out] == [True, False, True] and report.failed == 1
    assert "unparseable" in out[1]["error"] and report.errors == [f"row 2: {out[1]['error']}"]


def test_rate_limit_wait_ignores_other_errors():
    assert rate_limit_wait(ValueError("x"), 0, BulkOptions()) is None
    with pytest.raises(PlaitError, match="at least 1"):
        run_bulk([], upper, "/tmp/never.jsonl", record=dict, options=BulkOptions(concurrency=0), progress=False)


def test_evaluation_chunks_retry_rate_limits_like_bulk_jobs():
    from plait.evaluate.runner import _rate_limited

    answers, waits = [[RateLimited("2"), "ok"], [RateLimited("2"), "ok"], ["fine", "ok"]], []
    assert _rate_limited(lambda: answers.pop(0), sleep=waits.append) == ["fine", "ok"] and waits == [2.0, 2.0]
    other = ValueError("not a rate limit")
    assert _rate_limited(lambda: [other], sleep=waits.append) == [other] and len(waits) == 2
