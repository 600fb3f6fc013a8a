"""Model references, roles and backends.

Example:
    >>> from plait.models import resolve_model
    >>> llm = resolve_model()                         # the `default` role: local:gemma-3-270m
    >>> llm = resolve_model("openai:gpt-4o-mini")     # needs OPENAI_API_KEY
"""

from plait.models.capability import Capabilities, capabilities
from plait.models.llamacpp import LlamaCppChat
from plait.models.packaged import gemma_270m_path
from plait.models.refs import BUILTIN_ROLES, SCHEMES, ModelRef, parse_ref, reference_for
from plait.models.registry import resolve_model
from plait.models.settings import ModelSettings

__all__ = ["BUILTIN_ROLES", "SCHEMES", "Capabilities", "LlamaCppChat", "ModelRef", "ModelSettings", "capabilities",
           "gemma_270m_path", "parse_ref", "reference_for", "resolve_model"]
