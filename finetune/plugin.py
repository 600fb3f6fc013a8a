"""plait.finetune's extension of the core: ``lora:NAME`` for embedding-head adapters.

GGUF LoRA adapters are loaded by the core on llama.cpp; an embedding head (MiniLM + a
classifier) is a model only this package knows how to build. Registered through the ``plait``
entry point group (pyproject.toml), so the model registry never imports this layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plait.plugins import register_adapter_method


def _head(name: str, folder: Path, meta: dict[str, Any], settings: Any, options: dict[str, Any]) -> Any:
    from plait.finetune.head import head_chat

    return head_chat(name, folder)


def register() -> None:
    """Entry point: register the embedding-head adapter loader."""
    register_adapter_method("embedding-head", _head)
