from pathlib import Path

import pytest

from plait.config import DEFAULT_MODEL, load_settings
from plait.errors import ConfigError
from plait.models.refs import reference_for


def write_toml(text: str, name: str = "plait.toml") -> Path:
    path = Path(name)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file(isolated):
    settings = load_settings()
    assert dict(settings.models) == {}
    assert settings.source is None
    assert settings.home == isolated / ".plait"
    assert settings.trace_db == isolated / ".plait" / "traces.db"
    assert settings.tracing is True
    assert reference_for(None, role="classifier", settings=settings) == DEFAULT_MODEL


def test_precedence_argument_over_file_over_env_over_default(monkeypatch):
    monkeypatch.setenv("PLAIT_MODEL_CLASSIFIER", "openai:from-env")
    monkeypatch.setenv("PLAIT_MODEL_ANSWERER", "openai:env-answerer")
    write_toml('[models]\nclassifier = "gguf:from-file.gguf"\n')
    settings = load_settings()
    # argument > plait.toml
    assert reference_for("openai:explicit", role="classifier", settings=settings) == "openai:explicit"
    # plait.toml > environment
    assert reference_for(None, role="classifier", settings=settings) == "gguf:from-file.gguf"
    # environment > default
    assert reference_for(None, role="answerer", settings=settings) == "openai:env-answerer"
    # default
    assert reference_for(None, role="judge", settings=settings) == DEFAULT_MODEL


def test_default_role_binding_is_the_fallback_for_unbound_roles(monkeypatch):
    monkeypatch.setenv("PLAIT_MODEL", "openai:everything")
    settings = load_settings()
    assert reference_for(None, role="reasoner", settings=settings) == "openai:everything"


def test_tracing_file_beats_environment(monkeypatch):
    monkeypatch.setenv("PLAIT_TRACING", "0")
    assert load_settings().tracing is False
    write_toml("[tracing]\nenabled = true\ndb = 'logs/t.db'\n")
    settings = load_settings()
    assert settings.tracing is True
    assert settings.trace_db == Path.cwd() / "logs" / "t.db"


def test_plait_config_env_points_at_another_file(monkeypatch, isolated):
    other = isolated / "conf" / "custom.toml"
    other.parent.mkdir()
    other.write_text('home = "state"\n[models]\njudge = "openai:gpt-4o"\n')
    monkeypatch.setenv("PLAIT_CONFIG", str(other))
    settings = load_settings()
    assert settings.model_for("judge") == "openai:gpt-4o"
    assert settings.home == other.parent / "state"  # relative paths resolve next to the file


def test_missing_explicit_config_file_says_how_to_fix(monkeypatch):
    monkeypatch.setenv("PLAIT_CONFIG", "nowhere.toml")
    with pytest.raises(ConfigError, match="does not exist.*unset PLAIT_CONFIG"):
        load_settings()


@pytest.mark.parametrize("text, message", [
    ("[models\nx = 1", "not valid TOML"),
    ("[modles]\nx = 'a'", r"unknown section.*'models'"),
    ("[models]\nclassifier = 3", "must be a model reference string"),
    ("models = 'x'", "must be a table"),
    ("[local]\nn_ctx = -5", "positive integer"),
    ("[local]\ngpu = 1", "valid options are"),
    ("[prices]\n'openai:x' = 3", "input = USD"),
    ("[tracing]\nenabled = 'maybe'", "true or false"),
])
def test_bad_config_files_raise_actionable_errors(text, message):
    write_toml(text)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_prices_and_local_options_are_parsed():
    write_toml("[local]\nn_ctx = 1024\n[prices]\n'openai:gpt-4o-mini' = { input = 0.15, output = 0.6 }\n")
    settings = load_settings()
    assert settings.local["n_ctx"] == 1024
    assert settings.prices["openai:gpt-4o-mini"] == (0.15, 0.6)
