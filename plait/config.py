"""One way to resolve configuration.

Order, highest first: explicit argument > ``plait.toml`` > environment > built-in default.
The file is ``$PLAIT_CONFIG`` when set, else ``plait.toml`` in the working directory.

Example ``plait.toml``::

    [models]                 # role -> model reference
    default = "local:gemma-3-270m"
    classifier = "gguf:models/my-classifier.gguf"
    answerer = "openai:gpt-4o-mini"

    [tracing]
    enabled = true
    db = ".plait/traces.db"

    [local]                  # options for llama.cpp models
    n_ctx = 4096

    [retrieval]              # vector store and embeddings
    collection = "helpcentre"
    chroma_url = "http://127.0.0.1:8000"   # Chroma server; default: embedded at .plait/chroma

    [prices]                 # USD per million tokens, for trace costs and estimates
    "openai:gpt-4o-mini" = { input = 0.15, output = 0.60, training = 3.00 }
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from plait.errors import ConfigError

DEFAULT_MODEL = "local:gemma-3-270m"
CONFIG_FILE = "plait.toml"
_SECTIONS = {"models", "tracing", "local", "prices", "retrieval"}
_RETRIEVAL_OPTIONS = {"collection", "chroma_path", "chroma_url", "embeddings"}
_LOCAL_OPTIONS = {"n_ctx": int, "n_threads": int, "n_batch": int}


@dataclass(frozen=True)
class Settings:
    """plait's resolved configuration; change it with ``dataclasses.replace``."""

    models: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Role name -> model reference, from ``[models]`` and ``PLAIT_MODEL_<ROLE>``."""
    home: Path = Path(".plait")
    """Directory for plait's data: traces, adapters, vector stores."""
    tracing: bool = True
    """Whether models resolved by plait write their calls to the trace database."""
    trace_db: Path = Path(".plait/traces.db")
    """SQLite file the tracer writes to."""
    local: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """Extra llama.cpp options (``n_ctx``, ``n_threads``, ``n_batch``)."""
    retrieval: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """``[retrieval]``: ``collection``, ``chroma_path``, ``chroma_url`` (client/server) and ``embeddings``."""
    prices: Mapping[str, tuple[float, float]] = field(default_factory=lambda: MappingProxyType({}))
    """Model reference -> (input, output) USD per million tokens, from ``[prices]``."""
    training_prices: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    """Model reference -> USD per million training tokens (fine-tuning), from ``[prices]`` ``training``."""
    source: Path | None = None
    """The ``plait.toml`` these settings came from, if any."""

    def model_for(self, role: str) -> str | None:
        """Return the reference bound to ``role``, or None when it is unbound."""
        return self.models.get(role)


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """Return the path plait reads its config from (it may not exist)."""
    env = os.environ if env is None else env
    return Path(env.get("PLAIT_CONFIG") or CONFIG_FILE)


def load_settings(path: str | Path | None = None, *, env: Mapping[str, str] | None = None) -> Settings:
    """Read ``plait.toml`` and the environment into a :class:`Settings`.

    Example:
        >>> load_settings().model_for("default") or DEFAULT_MODEL
        'local:gemma-3-270m'
    """
    env = os.environ if env is None else env
    file = Path(path) if path is not None else config_path(env)
    explicit = path is not None or "PLAIT_CONFIG" in env
    data = _read_toml(file, required=explicit)
    base = file.resolve().parent if data else Path.cwd()

    models = {**_env_models(env), **_section(data, "models", file)}
    for role, ref in models.items():
        if not isinstance(ref, str) or not ref.strip():
            raise ConfigError(f"{file}: [models].{role} must be a model reference string such as "
                              f"'{DEFAULT_MODEL}', got {ref!r}.")
    tracing_cfg = _section(data, "tracing", file)
    home = _path(_section_value(data, "home", env.get("PLAIT_HOME"), file) or ".plait", base)
    trace_db = tracing_cfg.get("db", env.get("PLAIT_TRACE_DB"))
    return Settings(
        models=MappingProxyType({k: v.strip() for k, v in models.items()}),
        home=home,
        tracing=_bool(tracing_cfg.get("enabled", env.get("PLAIT_TRACING", True)), "tracing.enabled"),
        trace_db=_path(trace_db, base) if trace_db else home / "traces.db",
        local=MappingProxyType(_local_options(_section(data, "local", file), file)),
        prices=MappingProxyType(_prices(_section(data, "prices", file), file)),
        training_prices=MappingProxyType(_training_prices(_section(data, "prices", file), file)),
        retrieval=MappingProxyType(_retrieval(_section(data, "retrieval", file), env, base, file)),
        source=file if data else None,
    )


def _read_toml(file: Path, *, required: bool) -> dict[str, Any]:
    if not file.exists():
        if required:
            raise ConfigError(f"Config file {file} does not exist. Create it, or unset PLAIT_CONFIG "
                              f"to use ./{CONFIG_FILE}.")
        return {}
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file} is not valid TOML: {exc}. Fix the file or move it aside.") from exc
    unknown = set(data) - _SECTIONS - {"home"}
    if unknown:
        raise ConfigError(f"{file}: unknown section(s) {sorted(unknown)}; valid sections are "
                          f"{sorted(_SECTIONS)} and the key 'home'.")
    return data


def _section(data: Mapping[str, Any], name: str, file: Path) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{file}: '{name}' must be a table, written [{name}].")
    return dict(value)


def _section_value(data: Mapping[str, Any], key: str, env_value: str | None, file: Path) -> str | None:
    value = data.get(key, env_value)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{file}: '{key}' must be a string path.")
    return value


def _env_models(env: Mapping[str, str]) -> dict[str, str]:
    models = {}
    if env.get("PLAIT_MODEL"):
        models["default"] = env["PLAIT_MODEL"]
    for key, value in env.items():
        if key.startswith("PLAIT_MODEL_") and value:
            models[key.removeprefix("PLAIT_MODEL_").lower()] = value
    return models


def _local_options(section: Mapping[str, Any], file: Path) -> dict[str, int]:
    options = {}
    for key, value in section.items():
        if key not in _LOCAL_OPTIONS:
            raise ConfigError(f"{file}: unknown option [local].{key}; valid options are "
                              f"{sorted(_LOCAL_OPTIONS)}.")
        if not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{file}: [local].{key} must be a positive integer, got {value!r}.")
        options[key] = value
    return options


def _retrieval(section: Mapping[str, Any], env: Mapping[str, str], base: Path, file: Path) -> dict[str, str]:
    unknown = set(section) - _RETRIEVAL_OPTIONS
    if unknown:
        raise ConfigError(f"{file}: unknown option(s) [retrieval].{sorted(unknown)}; valid options are "
                          f"{sorted(_RETRIEVAL_OPTIONS)}.")
    options = {k: env[f"PLAIT_{k.upper()}"] for k in _RETRIEVAL_OPTIONS if env.get(f"PLAIT_{k.upper()}")}
    for key, value in section.items():
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{file}: [retrieval].{key} must be a non-empty string.")
        options[key] = value
    if "chroma_path" in options:
        options["chroma_path"] = str(_path(options["chroma_path"], base))
    return options


def _prices(section: Mapping[str, Any], file: Path) -> dict[str, tuple[float, float]]:
    prices = {}
    for ref, entry in section.items():
        has = {k for k in ("input", "output", "training") if isinstance(entry, dict) and isinstance(entry.get(k), (int, float))}
        if not isinstance(entry, dict) or set(entry) - has or not ({"input", "output"} <= has or has == {"training"}):
            raise ConfigError(f"{file}: [prices].\"{ref}\" must be {{ input = USD, output = USD }} per "
                              "million tokens, optionally with training = USD (fine-tuning).")
        if "input" in has:
            prices[ref] = (float(entry["input"]), float(entry["output"]))
    return prices


def _training_prices(section: Mapping[str, Any], file: Path) -> dict[str, float]:
    return {ref: float(entry["training"]) for ref, entry in section.items()
            if isinstance(entry, dict) and isinstance(entry.get("training"), (int, float))}


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false (PLAIT_TRACING=0/1), got {value!r}.")


def _path(value: str | Path, base: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path
