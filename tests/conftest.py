"""Shared fixtures: every test runs in its own working directory with no PLAIT_* environment."""

from __future__ import annotations

import os

import pytest

from plait.config import Settings, load_settings


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Run in an empty directory so no plait.toml, trace db or env var leaks between tests."""
    for key in list(os.environ):
        if key.startswith("PLAIT_") or key == "OPENAI_API_KEY":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings for the isolated directory (defaults, tracing into tmp_path/.plait)."""
    return load_settings()


@pytest.fixture(scope="session")
def local_llm():
    """The real packaged model on llama.cpp, untraced; loaded once for the whole session."""
    from plait.models import resolve_model

    return resolve_model("local:gemma-3-270m", settings=Settings(tracing=False), max_tokens=48)


# The fast lane (`make test-fast`: not real, not train, not browser) runs no model: a test that
# loads the local model, MiniLM or a Chroma client without saying so fails here, naming its marker.
HEAVY_MARKERS = ("real", "train", "browser")


@pytest.fixture(autouse=True)
def heavy_loads_need_a_marker(request, monkeypatch):
    if any(request.node.get_closest_marker(m) for m in HEAVY_MARKERS):
        return

    def refuse(what: str):
        def load(*args, **kwargs):
            raise AssertionError(f"{request.node.nodeid} loads {what}: mark it @pytest.mark.real "
                                 "(or train) so `make test-fast` leaves it out.")
        return load
    monkeypatch.setattr("plait.models.llamacpp._load", refuse("the local model (llama.cpp)"))
    monkeypatch.setattr("plait.retrieval.embeddings._load", refuse("MiniLM"))
    monkeypatch.setattr("plait.retrieval.store._persistent_client", refuse("a Chroma client"))
    monkeypatch.setattr("plait.retrieval.store._http_client", refuse("a Chroma client"))
