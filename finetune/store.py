"""The adapter store: ``<home>/adapters/NAME/`` holds one trained adapter and its ``adapter.json``.

``adapter.json`` records the base model, the method (``lora``, ``prompt-tuning``,
``embedding-head``), the training data's hash, hyperparameters, metrics and when it was made;
``lora:NAME`` resolves through it (see :mod:`plait.models.registry`).

Example:
    >>> from plait.finetune.store import list_adapters
    >>> [a.name for a in list_adapters()]  # doctest: +SKIP
    ['banking-head', 'banking-lora']
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from plait.config import Settings, load_settings
from plait.errors import PlaitError
from plait.models.registry import ADAPTER_META, adapters_dir

METHODS = ("lora", "prompt-tuning", "embedding-head")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class AdapterInfo:
    """What ``adapter.json`` holds."""

    name: str
    method: str
    """``lora``, ``prompt-tuning`` or ``embedding-head``."""
    base: str
    """Model reference of the base (``local:gemma-3-270m``), or the encoder for embedding heads."""
    data_hash: str = ""
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    """Validation/test scores and training time (``train_seconds``)."""
    task: dict[str, Any] = field(default_factory=dict)
    """What the adapter does: ``{"kind": "classification", "labels": [...], "prompt": "classify@..."}``."""
    created: str = ""
    gguf: str | None = None
    """File name of the llama.cpp LoRA (GGUF), for ``lora`` adapters."""


def check_name(name: str) -> str:
    """Refuse names that are not safe as a folder name."""
    if not _NAME.match(name):
        raise PlaitError(f"Adapter name {name!r} is not allowed: use letters, digits, '-', '_' or '.', "
                         "starting with a letter or digit (at most 64 characters).")
    return name


def adapter_dir(name: str, settings: Settings | None = None) -> Path:
    """The folder of adapter ``name`` (it may not exist yet)."""
    return adapters_dir(settings or load_settings()) / check_name(name)


def save_info(info: AdapterInfo, settings: Settings | None = None) -> Path:
    """Write ``adapter.json`` (stamping ``created`` when empty) and return the adapter's folder."""
    if info.method not in METHODS:
        raise PlaitError(f"Unknown adapter method {info.method!r}; one of {', '.join(METHODS)}.")
    folder = adapter_dir(info.name, settings)
    folder.mkdir(parents=True, exist_ok=True)
    data = asdict(info)
    data["created"] = data["created"] or datetime.now(timezone.utc).isoformat(timespec="seconds")
    tmp = folder / (ADAPTER_META + ".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    tmp.replace(folder / ADAPTER_META)  # atomic: a reader never sees half a file
    return folder


def load_info(name: str, settings: Settings | None = None) -> AdapterInfo:
    """Read an adapter's ``adapter.json``; the error lists the adapters there are."""
    meta = adapter_dir(name, settings) / ADAPTER_META
    if not meta.is_file():
        names = ", ".join(a.name for a in list_adapters(settings)) or "none yet (plait finetune train ...)"
        raise PlaitError(f"No adapter {name!r}. Adapters: {names}.")
    known = set(AdapterInfo.__dataclass_fields__)
    return AdapterInfo(**{k: v for k, v in json.loads(meta.read_text(encoding="utf-8")).items() if k in known})


def list_adapters(settings: Settings | None = None) -> list[AdapterInfo]:
    """Every adapter in the store, newest first."""
    root = adapters_dir(settings or load_settings())
    infos = []
    for meta in root.glob(f"*/{ADAPTER_META}"):
        try:
            infos.append(load_info(meta.parent.name, settings))
        except PlaitError:
            if meta.exists():
                raise
            # Removed while listing (a cancelled job's adapter, say): it is simply not there.
    return sorted(infos, key=lambda a: a.created, reverse=True)


def remove_adapter(name: str, settings: Settings | None = None) -> None:
    """Delete an adapter's folder."""
    load_info(name, settings)
    shutil.rmtree(adapter_dir(name, settings))
