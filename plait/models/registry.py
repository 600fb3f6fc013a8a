"""Resolve a role, a reference or a LangChain chat model into a chat model.

Every plait node takes ``model=`` and passes it here, so swapping a node's model is one
binding in ``plait.toml`` (or one argument), never a code change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from plait.config import Settings, load_settings
from plait.errors import MissingAPIKeyError, ModelFileError, ModelRefError
from plait.models.capability import capabilities
from plait.models.llamacpp import LlamaCppChat
from plait.models.packaged import gemma_270m_path
from plait.models.refs import ModelRef, parse_ref, reference_for
from plait.plugins import lookup, names
from plait.tracing import tracer_for

ADAPTER_META = "adapter.json"


def resolve_model(model: str | BaseChatModel | None = None, *, role: str = "default",
                  settings: Settings | None = None, **options: Any) -> BaseChatModel:
    """Return the chat model for ``model``: a role, a reference, a chat model, or None (= ``role``).

    ``options`` go to the model's constructor (``temperature``, ``max_tokens``, ...).
    Models built here write every call to the trace database unless tracing is off.

    Example:
        >>> llm = resolve_model(role="classifier")      # bound in plait.toml, else the default
        >>> llm = resolve_model("local:gemma-3-270m", max_tokens=64)
    """
    if isinstance(model, BaseChatModel):
        return model
    if model is not None and not isinstance(model, str):
        raise TypeError(f"model= takes a role name, a model reference or a LangChain chat model, "
                        f"not {type(model).__name__}.")
    settings = settings or load_settings()
    ref_text = reference_for(model, role=role, settings=settings)
    ref = parse_ref(ref_text)
    extra: dict[str, Any] = {"metadata": {"plait_model_ref": str(ref)}}
    if settings.tracing:
        prices = tuple((r, i, o) for r, (i, o) in sorted(settings.prices.items()))
        extra["callbacks"] = [tracer_for(settings.trace_db.resolve(), prices)]
    return _build(ref, settings, {**extra, **options})


def _build(ref: ModelRef, settings: Settings, options: dict[str, Any]) -> BaseChatModel:
    if ref.scheme in _BUILDERS:
        return _BUILDERS[ref.scheme](ref, settings, options)
    builder = lookup("model scheme", ref.scheme)
    if builder is None:  # parse_ref accepted it, so a plugin registered it and then went away
        raise ModelRefError(f"No plugin builds {ref.scheme}: models; installed schemes: "
                            f"{', '.join([*_BUILDERS, *names('model scheme')])}.")
    return builder(ref, settings, options)


def _local(ref: ModelRef, settings: Settings, options: dict[str, Any]) -> BaseChatModel:
    return LlamaCppChat(model_path=str(gemma_270m_path()), model_ref=str(ref), **{**settings.local, **options})


def _gguf(ref: ModelRef, settings: Settings, options: dict[str, Any]) -> BaseChatModel:
    path = Path(ref.name).expanduser()
    if not path.is_file():
        raise ModelFileError(f"GGUF file {path} does not exist (from {ref}). Check the path, or use "
                             "local:gemma-3-270m for the packaged model.")
    return LlamaCppChat(model_path=str(path), model_ref=str(ref), **{**settings.local, **options})


def _openai(ref: ModelRef, settings: Settings, options: dict[str, Any]) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    if ref.scheme == "openai":
        if not os.environ.get("OPENAI_API_KEY"):
            raise MissingAPIKeyError(f"{ref} needs an OpenAI API key: set the OPENAI_API_KEY environment "
                                     "variable, or use local:gemma-3-270m to stay offline.")
        return ChatOpenAI(model=ref.name, **options)
    # Local servers (vLLM, llama.cpp server, plait serve) often need no key; the client insists on one.
    key = os.environ.get("PLAIT_OPENAI_COMPATIBLE_API_KEY") or "not-needed"
    return ChatOpenAI(model=ref.name, base_url=ref.base_url, api_key=key, **options)


def adapters_dir(settings: Settings) -> Path:
    """Return the adapter store directory (``<home>/adapters``)."""
    return settings.home / "adapters"


def _lora(ref: ModelRef, settings: Settings, options: dict[str, Any]) -> BaseChatModel:
    folder = adapters_dir(settings) / ref.name
    if not (folder / ADAPTER_META).is_file() and (packaged := lookup("packaged adapter", ref.name)) is not None:
        folder = Path(packaged)  # shipped with a package; one trained into the store under that name wins
    meta_file = folder / ADAPTER_META
    if not meta_file.is_file():
        found = sorted(p.parent.name for p in adapters_dir(settings).glob(f"*/{ADAPTER_META}"))
        listing = ", ".join(found) if found else "none yet (train one with the plait.finetune package)"
        raise ModelRefError(f"No adapter {ref.name!r} in {adapters_dir(settings)}. Adapters there: {listing}.")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    method = meta.get("method") or "lora"
    # Adapters that are not GGUF LoRAs (embedding heads...) are built by the package that trains them.
    loader = None if method == "lora" else lookup("adapter method", method)
    if loader is not None:
        return loader(ref.name, folder, meta, settings, options)
    gguf = folder / (meta.get("gguf") or "adapter.gguf")
    if not gguf.is_file():
        raise ModelFileError(f"Adapter {ref.name!r} has no GGUF LoRA at {gguf}; re-export it with the "
                             "plait.finetune package.")
    base = _build(parse_ref(meta["base"]), settings, {})
    if not capabilities(base).lora_adapters:
        raise ModelRefError(f"Adapter {ref.name!r} names base {meta['base']!r}, which cannot load LoRA adapters "
                            "(a llama.cpp model can).")
    return base.model_copy(update={"lora_path": str(gguf), "model_ref": str(ref), "adapter_task": meta.get("task") or {},
                                   **options})


_BUILDERS = {"local": _local, "gguf": _gguf, "lora": _lora, "openai": _openai, "openai-compatible": _openai}
"""Built-in schemes; plugins add others through plait.plugins.register_model_scheme."""
