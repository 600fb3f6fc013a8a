"""`plait serve` under concurrent load vs llama-cpp-python's own server, same GGUF, same threads.

N clients (default 4) on loopback each send short chat completions (max_tokens 16,
temperature 0) in a loop for a fixed time, first to `plait serve` on local:gemma-3-270m, then
to `python -m llama_cpp.server` on the same GGUF file. Each server runs in its own subprocess,
is polled on /v1/models until it answers, warmed up with one request, then terminated.
Reports requests/s, p50/p95 latency, completion tokens/s and errors per server, and the ratio
plait_rps / llama_cpp_rps. Goal: 0 errors on both servers.

Both servers get the same llama.cpp settings (n_threads, n_threads_batch, n_ctx, n_batch) and both serve one
generation at a time (plait's FIFO queue; llama_cpp.server's model lock). The GGUF has no
chat template: plait renders a plain ``User: ... Assistant:`` transcript, and llama_cpp.server
is started with ``--chat_format`` (default ``gemma``, the model family's own turn format).
The prompts therefore differ by a few tokens, so completion tokens/s are reported next to
requests/s. plait runs as configured by default (tracing to SQLite on) except that its
per-client rate limit is off (``--rate-limit 0``): 4 clients on one address would exceed the
default 120 requests/min, and the limiter's 429s are not what this measures.

    make bench            # or: .venv/bin/python benchmarks/serve_load.py --clients 4 --seconds 30
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402

from plait.models.packaged import gemma_270m_path  # noqa: E402

MODEL_REF = "local:gemma-3-270m"
PROMPT = "List the planets of the solar system, from the closest to the sun to the farthest."
N_CTX, N_BATCH = 4096, 512  # plait's defaults, given to llama_cpp.server too (its own n_ctx default is 2048)
START_TIMEOUT_S = 180
# Prompt-processing threads: plait leaves llama-cpp-python's default (all cores), so the reference does too.
N_THREADS_BATCH = os.cpu_count() or 1


@dataclass
class Load:
    """What the clients saw against one server."""

    latencies: list[float] = field(default_factory=list)
    completion_tokens: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def summary(self, wall_s: float) -> dict:
        lat = sorted(self.latencies)
        ok = len(lat)
        pct = (lambda q: round(lat[min(ok - 1, int(q * ok))] * 1000, 1)) if ok else (lambda q: None)
        return {
            "requests_ok": ok, "errors": len(self.errors), "error_samples": sorted(set(self.errors))[:5],
            "wall_s": round(wall_s, 2), "requests_per_s": round(ok / wall_s, 3),
            "latency_p50_ms": pct(0.50), "latency_p95_ms": pct(0.95),
            "latency_mean_ms": round(statistics.mean(lat) * 1000, 1) if ok else None,
            "completion_tokens_per_request": round(statistics.mean(self.completion_tokens), 2) if ok else None,
            "completion_tokens_per_s": round(sum(self.completion_tokens) / wall_s, 2),
        }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server subprocess, started in ``__enter__`` (waits for /v1/models) and terminated on exit."""

    def __init__(self, name: str, argv: list[str], port: int, *, cwd: Path, env: dict[str, str], log: Path):
        self.name, self.argv, self.port, self.cwd, self.env, self.log = name, argv, port, cwd, env, log
        self.base = f"http://127.0.0.1:{port}/v1"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=self._log_file,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before answering:\n{self.tail()}")
            try:
                if httpx.get(f"{self.base}/models", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"{self.name} did not answer /v1/models within {START_TIMEOUT_S} s:\n{self.tail()}")
            time.sleep(0.5)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_file.close()

    def tail(self, lines: int = 20) -> str:
        self._log_file.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def ask(client: httpx.Client, url: str, body: dict) -> int:
    """One chat completion; return its completion tokens, raise on anything but a 200 with text."""
    response = client.post(url, json=body)
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
    data = response.json()
    if not isinstance(data["choices"][0]["message"]["content"], str):
        raise RuntimeError(f"no text in the reply: {str(data)[:200]}")
    return int(data["usage"]["completion_tokens"])


def drive(base: str, model: str, *, clients: int, seconds: float, max_tokens: int) -> dict:
    """``clients`` threads send requests back to back until ``seconds`` pass; requests in flight finish."""
    url = f"{base}/chat/completions"
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": max_tokens,
            "temperature": 0.0, "seed": 0}
    with httpx.Client(timeout=300) as warm:
        sample = warm.post(url, json=body).json()  # warm-up, not counted: loads the model, allocates buffers
    load, start = Load(), threading.Barrier(clients + 1)
    deadline: list[float] = []

    def client_loop() -> None:
        with httpx.Client(timeout=300, headers={"Authorization": "Bearer bench"}) as client:
            start.wait()
            while time.perf_counter() < deadline[0]:
                t0 = time.perf_counter()
                try:
                    tokens = ask(client, url, body)
                except Exception as exc:  # noqa: BLE001 - every failure is an error to count
                    with load.lock:
                        load.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    continue
                with load.lock:
                    load.latencies.append(time.perf_counter() - t0)
                    load.completion_tokens.append(tokens)

    threads = [threading.Thread(target=client_loop, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline.append(began + seconds)
    start.wait()
    for thread in threads:
        thread.join()
    summary = load.summary(time.perf_counter() - began)
    summary["sample_reply"] = (sample.get("choices") or [{}])[0].get("message", {}).get("content")
    return summary


def plait_server(port: int, tmp: Path, threads: int, tracing: bool) -> Server:
    home = tmp / "plait-home"
    config = tmp / "plait.toml"
    config.write_text(f'home = "{home}"\n\n[tracing]\nenabled = {str(tracing).lower()}\n\n'
                      f"[local]\nn_threads = {threads}\nn_ctx = {N_CTX}\nn_batch = {N_BATCH}\n")
    env = {**os.environ, "PLAIT_CONFIG": str(config)}
    argv = [sys.executable, "-c", "import sys; sys.argv[0] = 'plait'; from plait.cli import main; main()",
            "serve", "--host", "127.0.0.1", "--port", str(port), "--rate-limit", "0"]
    return Server("plait serve", argv, port, cwd=tmp, env=env, log=tmp / "plait-serve.log")


def llama_cpp_server(port: int, tmp: Path, gguf: Path, threads: int, chat_format: str) -> Server:
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "gemma-3-270m",
            "--host", "127.0.0.1", "--port", str(port), "--n_threads", str(threads),
            "--n_threads_batch", str(N_THREADS_BATCH), "--n_ctx", str(N_CTX), "--n_batch", str(N_BATCH),
            "--chat_format", chat_format, "--verbose", "false"]
    return Server("llama_cpp.server", argv, port, cwd=tmp, env=dict(os.environ), log=tmp / "llama-cpp-server.log")


def table(rows: dict[str, dict]) -> str:
    cols = [("requests_ok", "ok"), ("errors", "errors"), ("requests_per_s", "req/s"), ("latency_p50_ms", "p50 ms"),
            ("latency_p95_ms", "p95 ms"), ("completion_tokens_per_request", "tok/req"),
            ("completion_tokens_per_s", "tok/s")]
    lines = [f"{'server':<18}" + "".join(f"{title:>10}" for _, title in cols)]
    for name, row in rows.items():
        lines.append(f"{name:<18}" + "".join(f"{row[key] if row[key] is not None else '-':>10}" for key, _ in cols))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=30.0, help="load duration per server")
    parser.add_argument("--max-tokens", type=int, default=16)
    # One thread by default: on a small shared machine the clients and the server's event loop need
    # a core too, and llama.cpp's spinning threads slow down badly under contention.
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp n_threads for both servers")
    parser.add_argument("--chat-format", default="gemma", help="llama_cpp.server --chat_format")
    parser.add_argument("--no-tracing", action="store_true", help="turn plait's SQLite tracing off")
    args = parser.parse_args()

    gguf = gemma_270m_path()
    results: dict[str, dict] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with plait_server(free_port(), tmp, args.threads, not args.no_tracing) as server:
            print(f"plait serve up at {server.base}; {args.clients} clients for {args.seconds:g} s ...", flush=True)
            results["plait serve"] = drive(server.base, MODEL_REF, clients=args.clients, seconds=args.seconds,
                                           max_tokens=args.max_tokens)
        with llama_cpp_server(free_port(), tmp, gguf, args.threads, args.chat_format) as server:
            print(f"llama_cpp.server up at {server.base}; {args.clients} clients for {args.seconds:g} s ...",
                  flush=True)
            results["llama_cpp.server"] = drive(server.base, "gemma-3-270m", clients=args.clients,
                                                seconds=args.seconds, max_tokens=args.max_tokens)

    plait, raw = results["plait serve"], results["llama_cpp.server"]
    print()
    print(table(results))
    ratio = round(plait["requests_per_s"] / raw["requests_per_s"], 4) if raw["requests_per_s"] else None
    tok_ratio = (round(plait["completion_tokens_per_s"] / raw["completion_tokens_per_s"], 4)
                 if raw["completion_tokens_per_s"] else None)
    print(f"\nratio plait_rps / llama_cpp_rps = {ratio}   (completion tokens/s ratio {tok_ratio})\n")
    errors = plait["errors"] + raw["errors"]
    write("serve_load", {
        "model": MODEL_REF, "gguf": gguf.name, "clients": args.clients, "seconds_per_server": args.seconds,
        "max_tokens": args.max_tokens, "temperature": 0.0, "prompt": PROMPT, "n_threads": args.threads,
        "n_threads_batch": N_THREADS_BATCH, "n_ctx": N_CTX, "n_batch": N_BATCH,
        "plait_tracing": not args.no_tracing, "plait_rate_limit": 0,
        "llama_cpp_chat_format": args.chat_format, "endpoint": "/v1/chat/completions (both servers)",
        "plait": plait, "llama_cpp": raw,
        "ratio_plait_rps_over_llama_cpp_rps": ratio, "ratio_plait_tokens_per_s_over_llama_cpp": tok_ratio,
        "seconds": round(time.perf_counter() - started, 1),
        "goal": "0 errors on both servers (the rps ratio is reported)",
        "meets_goal": errors == 0,
    })


if __name__ == "__main__":
    main()
