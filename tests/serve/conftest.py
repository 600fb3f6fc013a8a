"""A real `plait serve` app under uvicorn, in a background thread on 127.0.0.1 and a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import pytest
import uvicorn

from plait.config import Settings
from plait.finetune.store import AdapterInfo, save_info
from plait.serve import create_app

# The CI box has 2 cores, often shared with other test processes; llama.cpp's spinning worker
# threads make two threads several times slower than one under that contention.
LOCAL = {"n_threads": 1}


@contextmanager
def running(app) -> Iterator[str]:
    """Serve ``app`` until the block ends; yield its ``/v1`` base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound here and handed over: no race for the port
    # lifespan on: apps start and stop their background workers (fine-tuning) with the server.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 30 s")
        time.sleep(0.05)
    httpx.get(f"{base}/models", headers={"Authorization": "Bearer probe"}, timeout=10)  # it answers
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=300)  # shutdown waits for a training step to end and checkpoint
        sock.close()


@pytest.fixture(scope="session")
def serve_settings(tmp_path_factory) -> Settings:
    """Settings with a role binding and one adapter in the store, in a folder of their own."""
    home = Path(tmp_path_factory.mktemp("serve")) / ".plait"
    settings = Settings(home=home, tracing=False, local=LOCAL, models={"answerer": "local:gemma-3-270m"})
    save_info(AdapterInfo(name="demo-adapter", method="lora", base="local:gemma-3-270m"), settings)
    return settings


@pytest.fixture(scope="session")
def base_url(serve_settings) -> Iterator[str]:
    """The shared server's ``/v1`` URL: no API keys, no rate limit."""
    with running(create_app(settings=serve_settings, rate_limit_per_minute=0)) as base:
        yield base


@pytest.fixture
def client(base_url) -> openai.OpenAI:
    """The official OpenAI client pointed at the shared server (no retries: errors show at once)."""
    return openai.OpenAI(base_url=base_url, api_key="any-key-works", max_retries=0, timeout=300)


@pytest.fixture(scope="session")
def serve_running():
    """``running(app)``: serve another app (for one test, or a module-scoped fixture)."""
    return running
