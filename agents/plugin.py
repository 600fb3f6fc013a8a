"""plait.agents' extension of the core: the ``support`` evaluation target and the tool-calling adapter.

Registered through the ``plait`` entry point group (pyproject.toml), so ``plait eval run support``
finds it while the evaluation harness in the core never imports this layer.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from plait.evaluate.targets import Target, TargetRequest, single_input
from plait.plugins import register_metric, register_packaged_adapter, register_target

TOOL_ADAPTER = Path(__file__).parent / "data" / "adapters" / "tool-calls"
"""The packaged tool-calling LoRA (rebuilt by ``benchmarks/train_tool_adapter.py``)."""
ROUTER_ADAPTER = Path(__file__).parent / "data" / "adapters" / "support-router"
"""The support assistant's routing head (rebuilt by ``python -m plait.agents.support_routing --package``)."""

ROLE_OPTIONS = ("classifier_model", "answerer", "responder", "summarizer")
"""support_assistant's model options: a target-wide ``model`` overrides all of them."""


def support_target(request: TargetRequest) -> Target:
    """The support assistant: on single messages (``message``) its route is the prediction; on
    conversations (``turns``) every turn is played and scored (see :mod:`plait.agents.support_eval`)."""
    from plait.agents.support import support_assistant
    from plait.agents.support_eval import CONVERSATION_METRICS, run_conversation

    roles = {r: request.model for r in ROLE_OPTIONS} if request.model else {}
    if request.data is not None and request.data.items and "turns" in request.data.items[0].inputs:
        from plait.agents.helpcentre import help_centre_store

        # The packaged help centre unless a collection was named (as the single-message path does).
        options = request.options if "collection" in request.options else {"store": help_centre_store(), **request.options}
        build = partial(support_assistant, **roles, **options)
        return Target("support", "agent", lambda xs, cfg: [_safely(run_conversation, build, x) for x in xs],
                      metrics=CONVERSATION_METRICS)
    graph = support_assistant(**roles, **request.options)
    return Target("support", "agent", lambda xs, cfg: graph.batch(xs, cfg, return_exceptions=True),
                  to_input=lambda inputs: {"message": single_input(inputs, "message")})


def _safely(run: Any, *args: Any) -> Any:
    try:
        return run(*args)
    except Exception as exc:  # one broken conversation is that item's error, not the run's end
        return exc


def register() -> None:
    """Entry point: this layer's target and metrics, and its packaged adapters (``lora:tool-calls``,
    ``lora:support-router``)."""
    from plait.agents.support_eval import CONVERSATION_METRICS, conversation_metric

    register_target("support", support_target)
    for name in CONVERSATION_METRICS:
        register_metric(name, partial(conversation_metric, name))
    register_packaged_adapter("tool-calls", TOOL_ADAPTER)
    register_packaged_adapter("support-router", ROUTER_ADAPTER)
