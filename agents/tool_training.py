"""Train the tool-calling adapter: synthetic tool cases -> chat examples in the agent's protocol -> LoRA.

A *case* is one request with the tools offered, the expected calls (with the results the tools
return) and the final answer (format: :mod:`plait.agents.tool_data`). A case becomes one training
example whose every assistant turn is trained on, rendered exactly as :func:`plait.agents.react_agent` prompts an
adapter trained for tools (:data:`~plait.agents.prompts.REACT_TOOLS`, no ``thought`` field), so what
the adapter learns is what it is asked at run time.

Example:
    >>> from plait.agents.tool_data import synthetic_cases
    >>> example = case_example(synthetic_cases(1)[0])
    >>> example["messages"][-1]["role"]
    'assistant'
    >>> info = train_tool_adapter("my-tools", extra_cases=my_cases)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool

from plait.agents.prompts import REACT_TOOLS
from plait.agents.protocol import describe_tools, to_protocol
from plait.errors import PlaitError
from plait.prompts import Prompt

ADAPTER = "tool-calls"
"""Name of the packaged adapter (``lora:tool-calls``), and the default name a retrain writes."""
TASK = {"kind": "tool-calling", "prompt": REACT_TOOLS.name, "thoughts": False, "protocol": "routed"}
"""Recorded in the adapter's ``task``: :func:`plait.agents.react_agent` reads it to prompt the adapter (and
runs it ``routed`` by default: the router picks the first tool, which measured best on held-out tools)."""
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def spec_tool(spec: Mapping[str, Any], func: Any = None) -> BaseTool:
    """Build a tool from a JSON spec ``{"name", "description", "parameters"}`` (OpenAI function style).

    Without ``func`` the tool echoes its arguments (enough for rendering prompts and measuring).

    Example:
        >>> t = spec_tool({"name": "find_book", "description": "Search the catalogue.",
        ...                "parameters": {"type": "object", "properties": {"title": {"type": "string"}},
        ...                               "required": ["title"]}})
        >>> t.name, t.invoke({"title": "Dune"})
        ('find_book', '{"title": "Dune"}')
    """
    try:
        name, parameters = str(spec["name"]), dict(spec.get("parameters") or {"type": "object", "properties": {}})
    except (KeyError, TypeError) as exc:
        raise PlaitError(f"Tool spec {spec!r} needs a 'name' and a JSON-schema 'parameters' object.") from exc
    run = func or (lambda **kwargs: json.dumps(kwargs, ensure_ascii=False))
    return StructuredTool.from_function(func=run, name=name, description=str(spec.get("description", "")),
                                        args_schema=parameters)


def observation(result: Any) -> str:
    """A tool result as the agent sees it (what LangGraph's ToolNode puts in the ToolMessage)."""
    return result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)


def case_example(case: Mapping[str, Any], *, prompt: Prompt = REACT_TOOLS) -> dict[str, Any]:
    """``case`` as one chat example trained on every assistant turn (each call, then the final answer).

    Earlier turns carry ``"weight": 1`` so the trainer learns them in the same pass; the prompt
    before each turn is exactly what the agent renders at that step.
    """
    tools = [spec_tool(t) for t in case["tools"]]
    system = prompt.template.invoke({"tools": describe_tools(tools)}).to_messages()
    history: list[BaseMessage] = [HumanMessage(str(case["request"]))]
    for number, call in enumerate(case.get("calls") or []):
        tool_call = {"name": call["tool"], "args": dict(call["args"]), "id": f"call_{number}", "type": "tool_call"}
        history += [AIMessage("", tool_calls=[tool_call]),
                    ToolMessage(observation(call.get("result", "")), tool_call_id=f"call_{number}", name=call["tool"])]
    # The request as the agent shows the adapter: dates, times and numbers in words annotated.
    messages = [*system, *to_protocol([*history, AIMessage(str(case["answer"]))], thoughts=False,
                                      annotate_requests=True)]
    turns = [{"role": _ROLES[m.type], "content": str(m.content)} for m in messages]
    for turn in turns[:-1]:
        if turn["role"] == "assistant":
            turn["weight"] = 1
    return {"messages": turns}


def read_cases(path: str | Path) -> list[dict[str, Any]]:
    """Read cases from a JSONL file, one per line; errors name the line to fix."""
    from plait.records import read_records

    cases = []
    for number, case in read_records(path, format="jsonl"):
        missing = [k for k in ("tools", "request", "answer") if k not in case]
        if missing:
            raise PlaitError(f"{path}:{number} lacks {', '.join(missing)}; each case needs tools, request, calls "
                             "and answer (see plait.agents.tool_data).")
        cases.append(case)
    return cases


def training_examples(cases: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every case as a chat example for :func:`plait.finetune.lora.train` (all its assistant turns trained)."""
    return [case_example(case) for case in cases]


def train_tool_adapter(name: str = ADAPTER, *, n: int = 2000, seed: int = 0,
                       extra_cases: Sequence[Mapping[str, Any]] = (), options: Any = None, resume: bool = True,
                       progress: bool = True, settings: Any = None, base_adapter: str | None = None) -> Any:
    """Train a tool-calling LoRA adapter on ``n`` synthetic cases plus ``extra_cases`` (your own tools).

    Resumable: an interrupted run continues from its checkpoint (``resume=True``); ``base_adapter``
    continues training an adapter already in the store (more steps on fresh cases). The adapter
    lands in plait's adapter store as ``lora:NAME``; bind it with ``[models] agent = "lora:NAME"``.
    """
    from plait.agents.tool_data import synthetic_cases
    from plait.finetune.lora import TrainOptions, train

    cases = [*synthetic_cases(n, seed=seed), *extra_cases]
    validation = training_examples(synthetic_cases(60, seed=seed + 10_000))
    options = options or replace(TrainOptions(), epochs=1, checkpoint_every=20)
    return train(name, training_examples(cases), validation=validation, options=options, task=TASK, resume=resume,
                 progress=progress, settings=settings, base_adapter=base_adapter)
