"""plait.agents' extension of the core: the ``support`` evaluation target and the tool-calling adapter.

Registered through the ``plait`` entry point group (pyproject.toml), so ``plait eval run support``
finds it while the evaluation harness in the core never imports this layer.
"""

from __future__ import annotations

from pathlib import Path

from plait.evaluate.targets import Target, TargetRequest, single_input
from plait.plugins import register_packaged_adapter, register_target

TOOL_ADAPTER = Path(__file__).parent / "data" / "adapters" / "tool-calls"
"""The packaged tool-calling LoRA (rebuilt by ``benchmarks/train_tool_adapter.py``)."""

ROLE_OPTIONS = ("classifier_model", "answerer", "responder", "summarizer")
"""support_assistant's model options: a target-wide ``model`` overrides all of them."""


def support_target(request: TargetRequest) -> Target:
    """The support assistant graph, fed each item's message; its route is the prediction."""
    from plait.agents.support import support_assistant

    roles = {r: request.model for r in ROLE_OPTIONS} if request.model else {}
    graph = support_assistant(**roles, **request.options)
    return Target("support", "agent", lambda xs, cfg: graph.batch(xs, cfg, return_exceptions=True),
                  to_input=lambda inputs: {"message": single_input(inputs, "message")})


def register() -> None:
    """Entry point: register this layer's target and its packaged tool-calling adapter (``lora:tool-calls``)."""
    register_target("support", support_target)
    register_packaged_adapter("tool-calls", TOOL_ADAPTER)
