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
