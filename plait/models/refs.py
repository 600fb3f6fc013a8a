"""Model references: the strings that name a model.

``local:gemma-3-270m``                  the packaged GGUF on llama.cpp (the default)
``gguf:PATH``                           any GGUF file on llama.cpp
``openai:MODEL``                        OpenAI, including ``openai:ft:...`` fine-tuned ids
``openai-compatible:MODEL@BASE_URL``    any OpenAI-compatible server (vLLM, llama.cpp server, ...)
``lora:ADAPTER``                        an adapter from plait's adapter store on its base model

A string without a colon is a *role* (``classifier``, ``answerer``...) bound in ``plait.toml``.
Plugins add schemes of their own with :func:`plait.plugins.register_model_scheme`.
"""

from __future__ import annotations

from dataclasses import dataclass

from plait.config import DEFAULT_MODEL, Settings
from plait.errors import ModelRefError
from plait.plugins import lookup, scheme_forms

SCHEMES = {
    "local": "local:NAME (packaged models: {local})",
    "gguf": "gguf:PATH",
    "openai": "openai:MODEL",
    "openai-compatible": "openai-compatible:MODEL@BASE_URL",
    "lora": "lora:ADAPTER",
}
LOCAL_MODELS = ("gemma-3-270m",)
# Roles plait's own nodes use; an unbound one falls back to the `default` binding.
BUILTIN_ROLES = frozenset({
    "default", "classifier", "reasoner", "answerer", "moderator", "judge",
    "router", "agent", "summarizer", "responder", "sql",
})
ROLE_DEFAULTS = {"agent": "lora:tool-calls", "router": "lora:support-router"}
"""Built-in roles whose offline default is not the base model: the ReAct agent's is the tool-calling
LoRA that ships with plait.agents (the 270M base model answers instead of calling tools), the support
assistant's router the embedding head that ships with it (measured right more often than few-shot)."""


@dataclass(frozen=True)
class ModelRef:
    """A parsed model reference."""

    scheme: str
    """One of :data:`SCHEMES`, or a scheme a plugin registered."""
    name: str
    """Model name, file path or adapter name, depending on the scheme."""
    base_url: str | None = None
    """Server URL, for ``openai-compatible`` only."""

    def __str__(self) -> str:
        suffix = f"@{self.base_url}" if self.base_url else ""
        return f"{self.scheme}:{self.name}{suffix}"


def _valid_forms() -> str:
    forms = [form.format(local=", ".join(LOCAL_MODELS)) for form in SCHEMES.values()]
    return ", ".join([*forms, *scheme_forms().values()])


def is_reference(text: str) -> bool:
    """Return True when ``text`` is a model reference rather than a role name."""
    return ":" in text


def parse_ref(text: str) -> ModelRef:
    """Parse a model reference string.

    Example:
        >>> parse_ref("openai-compatible:llama3@http://127.0.0.1:8080/v1")
        ModelRef(scheme='openai-compatible', name='llama3', base_url='http://127.0.0.1:8080/v1')
    """
    scheme, sep, rest = text.strip().partition(":")
    if sep and scheme not in SCHEMES and lookup("model scheme", scheme) is not None:
        if not rest:
            raise ModelRefError(f"Model reference {text!r} has nothing after '{scheme}:'; "
                                f"write it as {scheme_forms()[scheme]}.")
        return ModelRef(scheme, rest)
    if not sep or scheme not in SCHEMES:
        raise ModelRefError(f"Unknown model reference {text!r}. Valid forms: {_valid_forms()}; "
                            "or a role name bound under [models] in plait.toml.")
    if not rest:
        raise ModelRefError(f"Model reference {text!r} has nothing after '{scheme}:'; "
                            f"write it as {SCHEMES[scheme].format(local=LOCAL_MODELS[0])}.")
    if scheme == "local" and rest not in LOCAL_MODELS:
        raise ModelRefError(f"No packaged local model {rest!r}; packaged models: "
                            f"{', '.join(LOCAL_MODELS)}. Use gguf:PATH for another GGUF file.")
    if scheme == "openai-compatible":
        name, at, url = rest.partition("@")
        if not at or not name or not url.startswith(("http://", "https://")):
            raise ModelRefError(f"{text!r} must look like openai-compatible:MODEL@http://HOST:PORT/v1.")
        return ModelRef(scheme, name, url.rstrip("/"))
    return ModelRef(scheme, rest)


def reference_for(model: str | None, *, role: str = "default", settings: Settings) -> str:
    """Turn a role name, a reference or None into a reference string.

    ``None`` means "the model bound to ``role``". Unbound built-in roles fall back to the
    ``default`` binding, then to the role's own default (:data:`ROLE_DEFAULTS`), then to
    ``local:gemma-3-270m``.
    """
    name = role if model is None else model.strip()
    if is_reference(name):
        return name
    bound = settings.model_for(name)
    if bound is not None:
        if not is_reference(bound):
            raise ModelRefError(f"Role {name!r} is bound to {bound!r}, which is not a model reference "
                                f"(roles cannot point at roles). Valid forms: {_valid_forms()}.")
        return bound
    if name in BUILTIN_ROLES:
        return settings.model_for("default") or ROLE_DEFAULTS.get(name) or DEFAULT_MODEL
    known = sorted(set(settings.models) | BUILTIN_ROLES)
    raise ModelRefError(f"{name!r} is neither a model reference nor a known role. Known roles: "
                        f"{', '.join(known)}. Bind it in plait.toml ([models] {name} = \"{DEFAULT_MODEL}\") "
                        f"or pass a reference ({_valid_forms()}).")
