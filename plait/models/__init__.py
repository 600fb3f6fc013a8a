"""Model references, roles and backends.

Example:
    >>> from plait.models import resolve_model
    >>> llm = resolve_model()                         # the `default` role: local:gemma-3-270m
    >>> llm = resolve_model("openai:gpt-4o-mini")     # needs OPENAI_API_KEY
"""

from plait.models.llamacpp import LlamaCppChat
from plait.models.packaged import gemma_270m_path
from plait.models.refs import BUILTIN_ROLES, SCHEMES, ModelRef, parse_ref, reference_for
from plait.models.registry import resolve_model

__all__ = ["BUILTIN_ROLES", "SCHEMES", "LlamaCppChat", "ModelRef", "gemma_270m_path", "parse_ref",
           "reference_for", "resolve_model"]
