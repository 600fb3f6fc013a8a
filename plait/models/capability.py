"""What a chat model can do, as the model reports it: nodes ask this, not the model's class.

A model reports its own capabilities through a ``plait_capabilities()`` method (plait's
llama.cpp model and the embedding-head model do). For any other LangChain chat model they are
derived from its interface: native tools when it overrides ``bind_tools``, log-probabilities
when it has a ``logprobs`` field (``ChatOpenAI``).

Example:
    >>> from plait.testing import ScriptedChatModel
    >>> capabilities(ScriptedChatModel(replies=[])).native_tools
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableBinding


@dataclass(frozen=True)
class Capabilities:
    """Features a node may rely on; each false unless the model has it.

    Example:
        >>> Capabilities(constrained=True).logprobs
        False
    """

    constrained: bool = False
    """Decodes under a grammar: takes ``grammar=`` (GBNF), ``choices=`` and ``slots=`` options, and
    ``constrained_output(schema)`` gives its raw structured reply (llama.cpp)."""
    logprobs: bool = False
    """Returns token log-probabilities when bound with ``logprobs=True`` (OpenAI-style backends)."""
    native_tools: bool = False
    """Calls tools natively through ``bind_tools``."""
    classifies_text: bool = False
    """Labels texts itself with ``classify_texts(texts)`` (an embedding head): no prompt is needed."""
    in_process: bool = False
    """Runs in this process on this machine's cores, one call at a time (a server queues its calls)."""
    lora_adapters: bool = False
    """Applies a GGUF LoRA adapter given as ``lora_path`` (a ``lora:`` reference's base model)."""


def capabilities(llm: Any) -> Capabilities:
    """Return what ``llm`` (a chat model, or one with bound options) can do.

    Example:
        >>> from plait.models import resolve_model
        >>> capabilities(resolve_model("local:gemma-3-270m")).constrained  # doctest: +SKIP
        True
    """
    while isinstance(llm, RunnableBinding):  # llm.bind(...) keeps the model's capabilities
        llm = llm.bound
    report = getattr(type(llm), "plait_capabilities", None)
    if callable(report):
        return report(llm)
    overrides_tools = isinstance(llm, BaseChatModel) and type(llm).bind_tools is not BaseChatModel.bind_tools
    return Capabilities(logprobs="logprobs" in (getattr(type(llm), "model_fields", None) or {}),
                        native_tools=overrides_tools,
                        classifies_text=callable(getattr(llm, "classify_texts", None)))
