"""Bulk jobs against a server: throughput by concurrency, memory on a million rows, kill and resume.

A local OpenAI-compatible stub (loopback only, stdlib HTTP server, a fixed latency per request,
it answers every chat completion with one label) stands in for vLLM or any remote model, so
the figures measure plait's runner, not a model.

1. ``plait classify`` (in process, the real CLI code path and classifier node on an
   ``openai-compatible:`` reference) at concurrency 1, 4, 16, 64: rows/s and the ratio to
   sequential (goal >= 0.8 x N up to 16).
2. Peak memory of the runner streaming 1,000,000 rows (CSV) through a trivial node, against
   10,000 rows in the same kind of process (goal: flat, under 300 MB).
3. ``plait classify`` killed (SIGKILL) at about 50%, then ``--resume``: rows lost, rows done
   twice (the stub counts the requests it served), order of the output.

    .venv/bin/python benchmarks/bulk.py                # about 4 minutes
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402

LATENCY = 0.2
ROWS = {1: 200, 4: 800, 16: 2000, 64: 2000}
"""Rows per concurrency level: sequential runs take 0.2 s a row, so they get fewer (rates compare)."""


class Stub(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    latency = LATENCY
    served = 0
    lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers

    def do_GET(self) -> None:  # noqa: N802 (http.server's name): how many completions were served
        self._send(json.dumps({"served": self.server.served}).encode())

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        time.sleep(self.server.latency)
        with self.server.lock:
            self.server.served += 1
        self._send(json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "stub",
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": "billing"}}],
                               "usage": {"prompt_tokens": 20, "completion_tokens": 1, "total_tokens": 21}}).encode())

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


def serve(port: int, latency: float) -> None:
    """Run the stub until killed (in its own process, so it never competes with the client for the GIL)."""
    server = Stub(("127.0.0.1", port), Handler)
    server.latency = latency
    server.serve_forever()


class StubProcess:
    """The stub server in a child process on a free loopback port."""

    def __init__(self, latency: float) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen([sys.executable, __file__, "--serve", str(self.port), str(latency)])
        import urllib.request

        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/count", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the stub server did not start")

    @property
    def served(self) -> int:
        import urllib.request

        return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{self.port}/count", timeout=5).read())["served"]

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def write_rows(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as f:
        f.write("text\n")
        for i in range(n):
            f.write(f"ticket {i}: I was charged twice for my order\n")
    return path


def classify_args(data: Path, out: Path, port: int, concurrency: int) -> list[str]:
    return ["classify", str(data), "--labels", "billing,shipping,account", "--out", str(out), "--concurrency",
            str(concurrency), "--model", f"openai-compatible:stub@http://127.0.0.1:{port}/v1"]


def throughput(folder: Path) -> dict[str, Any]:
    from typer.testing import CliRunner

    from plait.cli import app

    stub, runner, found = StubProcess(LATENCY), CliRunner(), {}
    for concurrency, n in ROWS.items():
        data, out = write_rows(folder / f"rows{n}.csv", n), folder / f"out{concurrency}.jsonl"
        started = time.perf_counter()
        result = runner.invoke(app, classify_args(data, out, stub.port, concurrency))
        seconds = time.perf_counter() - started
        assert result.exit_code == 0, result.output
        lines = out.read_text().splitlines()
        assert len(lines) == n and all(json.loads(x)["label"] == "billing" for x in lines)
        found[concurrency] = {"rows": n, "seconds": round(seconds, 2), "rows_per_s": round(n / seconds, 2)}
    base = found[1]["rows_per_s"]
    for concurrency, row in found.items():
        row["ratio_to_sequential"] = round(row["rows_per_s"] / base, 2)
        row["ratio_over_n"] = round(row["rows_per_s"] / base / concurrency, 2)
    stub.stop()
    return {"latency_s": LATENCY, "by_concurrency": found}


MEMORY_SCRIPT = textwrap.dedent("""
    import resource, sys
    from plait.bulk import BulkOptions, run_bulk
    from plait.records import stream_records
    rows = ((n, row["text"]) for n, (_, row) in enumerate(stream_records(sys.argv[1], format="csv"), 1))
    report = run_bulk(rows, lambda texts: ["billing"] * len(texts), sys.argv[2], record=lambda r: {"label": r},
                      options=BulkOptions(concurrency=4, batch_size=8), progress=False)
    print(report.done, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, round(report.seconds, 1))
""")


def memory(folder: Path) -> dict[str, Any]:
    found = {}
    for n in (10_000, 1_000_000):
        data = write_rows(folder / f"mem{n}.csv", n)
        run = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(data), str(folder / f"mem{n}.jsonl")],
                             capture_output=True, text=True, timeout=1800)
        done, peak_mb, seconds = run.stdout.split()
        found[n] = {"rows": int(done), "peak_rss_mb": int(peak_mb), "seconds": float(seconds),
                    "file_mb": round(data.stat().st_size / 2**20, 1)}
    return found


def kill_and_resume(folder: Path) -> dict[str, Any]:
    stub = StubProcess(0.02)
    data, out, n = write_rows(folder / "kill.csv", 2000), folder / "kill.jsonl", 2000
    args = [str(Path(sys.executable).parent / "plait"), *classify_args(data, out, stub.port, 16)]
    job = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not out.exists() or len(out.read_text().splitlines()) < n // 2:
        time.sleep(0.02)
    os.kill(job.pid, signal.SIGKILL)
    job.wait()
    at_kill, served_before = len(out.read_text().splitlines()), stub.served
    resumed = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=600)
    rows = [json.loads(x)["row"] for x in out.read_text().splitlines()]
    served_resume = stub.served - served_before
    stub.stop()
    return {"rows": n, "written_when_killed": at_kill, "in_flight_when_killed": served_before - at_kill,
            "resume_exit_code": resumed.returncode, "requests_on_resume": served_resume,
            "rows_lost": n - len(set(rows)), "rows_done_twice": len(rows) - len(set(rows)),
            "extra_requests_on_resume": served_resume - (n - at_kill), "in_input_order": rows == sorted(rows)}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result = {"goals": {"ratio_over_n_up_to_16": 0.8, "peak_rss_mb": 300, "rows_lost": 0, "rows_done_twice": 0},
                  "throughput": throughput(folder), "memory": memory(folder), "kill_and_resume": kill_and_resume(folder)}
    write("bulk", result)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]), float(sys.argv[3]))
    else:
        main()
