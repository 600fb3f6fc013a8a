"""plait: composable LLM chains and agent graphs on LangChain and LangGraph, offline by default.

Example:
    >>> from plait import resolve_model
    >>> llm = resolve_model()                 # packaged Gemma 3 270M on llama.cpp
    >>> llm.invoke("Paris is the capital of").content  # doctest: +SKIP
"""

from plait.config import Settings, load_settings
from plait.errors import PlaitError
from plait.models import parse_ref, resolve_model
from plait.prompts import Prompt, as_node, prompt

__version__ = "0.1.0"
__all__ = ["PlaitError", "Prompt", "Settings", "as_node", "load_settings", "parse_ref", "prompt", "resolve_model"]
