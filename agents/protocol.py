"""The text/JSON ReAct protocol for models without native tool calling.

On llama.cpp a grammar built from the tools' argument schemas means the model can only emit a
valid tool call or a final answer. Elsewhere a tolerant parser reads JSON or classic
``Action: / Action Input:`` text. Either way the reply becomes a normal ``AIMessage`` with
``tool_calls``, so the rest of the graph is standard LangGraph.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.tools import BaseTool

from plait.errors import OutputParseError
from plait.models.structured import bound_schema

THOUGHT = {"type": "string", "maxLength": 240}
ANSWER = {"type": "string", "maxLength": 800}


def args_schema(t: BaseTool) -> dict[str, Any]:
    """A tool's arguments as a JSON schema object (titles dropped; every argument required unless it says)."""
    schema = t.tool_call_schema.model_json_schema() if hasattr(t.tool_call_schema, "model_json_schema") \
        else dict(t.tool_call_schema)
    props = {k: {kk: vv for kk, vv in v.items() if kk != "title"} for k, v in schema.get("properties", {}).items()}
    return {"type": "object", "properties": props, "required": schema.get("required", list(props)),
            "additionalProperties": False}


def protocol_schema(tools: Sequence[BaseTool], *, thoughts: bool = True, answer: bool = True) -> dict[str, Any]:
    """JSON schema admitting one tool call (per tool, with its arguments) or a final answer.

    ``thoughts=False`` drops the ``thought`` field (the compact protocol of the tool-calling
    adapter); ``answer=False`` admits tool calls only.
    """
    # The decision (tool or answer) comes first: a small model that writes a thought first tends to
    # answer inside the thought and never call a tool.
    extra = {"thought": THOUGHT} if thoughts else {}
    calls = [{"type": "object", "properties": {"tool": {"const": t.name}, "args": args_schema(t), **extra},
              "required": ["tool", "args", *extra], "additionalProperties": False} for t in tools]
    reply = {"type": "object", "properties": {"answer": ANSWER, **extra},
             "required": ["answer", *extra], "additionalProperties": False}
    return bound_schema({"anyOf": [*calls, *([reply] if answer or not calls else [])]})


def _describe_arg(name: str, spec: dict[str, Any], required: bool) -> str:
    kind = " | ".join(json.dumps(v) for v in spec["enum"]) if spec.get("enum") else spec.get("type", "any")
    hint = f" ({spec['description']})" if spec.get("description") else ""
    return f"{name}{'' if required else '?'}: {kind}{hint}"


def describe_tools(tools: Sequence[BaseTool]) -> str:
    """One line per tool: name, arguments (``?`` marks optional ones, enums listed) and description.

    Example:
        >>> from langchain_core.tools import tool
        >>> @tool
        ... def forecast(city: str, days: int = 1) -> str:
        ...     "Weather forecast for a city."
        ...     return ""
        >>> describe_tools([forecast])
        '- forecast(city: string, days?: integer): Weather forecast for a city.'
    """
    lines = []
    for t in tools:
        schema = args_schema(t)
        args = ", ".join(_describe_arg(k, v, k in schema["required"]) for k, v in schema["properties"].items())
        lines.append(f"- {t.name}({args}): {t.description.splitlines()[0] if t.description else ''}")
    return "\n".join(lines)


def _first_json_object(text: str) -> dict[str, Any] | None:
    start = text.find("{")
    while start != -1:
        depth, in_string, escape = 0, False, False
        for i in range(start, len(text)):
            char = text[i]
            if in_string:
                escape, in_string = (not escape and char == "\\"), in_string and (escape or char != '"')
                continue
            if char == '"':
                in_string = True
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    try:
                        value = json.loads(text[start:i + 1])
                        return value if isinstance(value, dict) else None
                    except json.JSONDecodeError:
                        break
        start = text.find("{", start + 1)
    return None


_ACTION = re.compile(r"Action:\s*(?P<tool>[\w\-.]+)\s*\n\s*Action Input:\s*(?P<input>.+)", re.S)
_FINAL = re.compile(r"Final Answer:\s*(?P<answer>.+)", re.S)


def parse_reply(text: str, tool_names: Sequence[str]) -> AIMessage:
    """Turn protocol text into an ``AIMessage`` (a tool call or an answer), or raise OutputParseError."""
    if (m := _ACTION.search(text)) is not None:  # classic ReAct text; its input may itself be JSON
        raw = m.group("input").strip()
        data = {"tool": m.group("tool"), "args": _first_json_object(raw) or {"input": raw.splitlines()[0]}}
    elif (found := _first_json_object(text)) is not None:
        data = found
    elif (m := _FINAL.search(text)) is not None:
        data = {"answer": m.group("answer").strip()}
    else:
        raise OutputParseError("no JSON object found", output=text)
    thought = str(data.get("thought", "")).strip()
    if "tool" in data:
        if data["tool"] not in tool_names:
            raise OutputParseError(f"unknown tool {data['tool']!r}; tools: {', '.join(tool_names)}", output=text)
        args = data.get("args", {})
        if not isinstance(args, dict):
            raise OutputParseError("'args' must be an object", output=text)
        call = {"name": data["tool"], "args": args, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}
        return AIMessage(content=thought, tool_calls=[call])
    if "answer" in data:
        return AIMessage(content=str(data["answer"]).strip(), additional_kwargs={"thought": thought} if thought else {})
    raise OutputParseError("the object has neither 'tool' nor 'answer'", output=text)


def to_protocol(messages: Sequence[Any], *, thoughts: bool = True, annotate_requests: bool = False) -> list[Any]:
    """Rewrite history in the protocol's own form: AI turns as JSON, tool results as Observation turns.

    ``annotate_requests`` writes the machine form beside dates, times and numbers in the user's
    words (:func:`plait.agents.values.annotate`), as the tool-calling adapter was trained to read them.
    """
    from langchain_core.messages import HumanMessage, ToolMessage

    from plait.agents.values import annotate

    out: list[Any] = []
    for message in messages:
        if isinstance(message, AIMessage):
            thought = message.additional_kwargs.get("thought", message.content if message.tool_calls else "")
            if message.tool_calls:
                call = message.tool_calls[0]  # the protocol makes one call per step
                body = {"tool": call["name"], "args": call["args"]}
            else:
                body = {"answer": str(message.content)}
            if thoughts:
                body["thought"] = str(thought)
            out.append(AIMessage(json.dumps(body, ensure_ascii=False)))
        elif isinstance(message, ToolMessage):
            out.append(HumanMessage(f"Observation: {message.content}"))
        elif annotate_requests and isinstance(message, HumanMessage):
            out.append(HumanMessage(annotate(str(message.content))))
        else:
            out.append(message)
    return out
