"""OpenAI's wire format: request bodies plait reads, and the replies, chunks and usage it writes.

Request models ignore fields plait has no use for (``user``, ``metadata``...), as OpenAI's
own server tolerates clients newer than it.

Example:
    >>> ChatRequest(model="local:gemma-3-270m", messages=[{"role": "user", "content": "Hi"}]).n
    1
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AIMessage, AIMessageChunk
from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ContentPart(_Open):
    type: str
    text: str | None = None


class FunctionCall(_Open):
    name: str
    arguments: str = "{}"


class ToolCall(_Open):
    id: str = ""
    type: str = "function"
    function: FunctionCall


class ChatMessage(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None


class FunctionSpec(_Open):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ToolSpec(_Open):
    type: Literal["function"] = "function"
    function: FunctionSpec


class StreamOptions(_Open):
    include_usage: bool = False


class ChatRequest(_Open):
    """The body of ``POST /v1/chat/completions`` (the fields plait uses)."""

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = 1
    logprobs: bool | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    response_format: dict[str, Any] | None = None
    tools: list[ToolSpec] | None = None
    tool_choice: str | dict[str, Any] | None = None


class EmbeddingRequest(_Open):
    """The body of ``POST /v1/embeddings``."""

    model: str
    input: str | list[str]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None


def usage_of(message: AIMessage | None) -> dict[str, int]:
    """OpenAI's ``usage`` from a LangChain message's ``usage_metadata`` (zeros when the model gave none)."""
    usage = (message.usage_metadata if message is not None else None) or {}
    n_in, n_out = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
    return {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": usage.get("total_tokens", n_in + n_out)}


def tool_calls_of(message: AIMessage) -> list[dict[str, Any]]:
    """OpenAI ``tool_calls`` (arguments as a JSON string) from a LangChain message."""
    return [{"id": c.get("id") or f"call_{uuid.uuid4().hex[:12]}", "type": "function",
             "function": {"name": c["name"], "arguments": json.dumps(c["args"], ensure_ascii=False)}}
            for c in message.tool_calls]


def finish_reason(message: AIMessage | None, reported: str | None = None) -> str:
    """``tool_calls`` when the reply calls tools, else the model's reason (``stop`` or ``length``)."""
    if message is not None and message.tool_calls:
        return "tool_calls"
    reason = reported or (message.response_metadata.get("finish_reason") if message is not None else None)
    return reason if reason in ("stop", "length", "tool_calls", "content_filter") else "stop"


def completion(message: AIMessage, *, id: str, created: int, model: str) -> dict[str, Any]:
    """A ``chat.completion`` object for one finished reply."""
    out: dict[str, Any] = {"role": "assistant", "content": None if message.tool_calls else message.content,
                           "refusal": None}
    if message.tool_calls:
        out["tool_calls"] = tool_calls_of(message)
    return {"id": id, "object": "chat.completion", "created": created, "model": model, "system_fingerprint": None,
            "usage": usage_of(message),
            "choices": [{"index": 0, "message": out, "logprobs": None, "finish_reason": finish_reason(message)}]}


def event_data(data: dict[str, Any]) -> str:
    """The ``data`` of one server-sent event: the JSON text (sse-starlette adds the framing)."""
    return json.dumps(data, ensure_ascii=False)


@dataclass(frozen=True)
class Chunks:
    """Writes the data of the ``chat.completion.chunk`` events of one streamed reply."""

    id: str
    created: int
    model: str
    include_usage: bool
    """From ``stream_options``: every chunk carries ``usage: null`` and a last chunk carries the usage."""

    def delta(self, delta: dict[str, Any], finish: str | None = None) -> str:
        """An event with one choice's ``delta``."""
        body = self._body([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])
        if self.include_usage:
            body["usage"] = None
        return event_data(body)

    def usage(self, usage: dict[str, int]) -> str:
        """The final event of a stream with ``include_usage``: no choices, the usage."""
        return event_data({**self._body([]), "usage": usage})

    def _body(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "system_fingerprint": None, "choices": choices}


def deltas_of(message: AIMessage, *, strip_lead: bool = False) -> list[dict[str, Any]]:
    """The deltas for one piece of a reply: a streamed chunk, or a whole reply sent at once."""
    deltas: list[dict[str, Any]] = []
    whole_call = bool(message.tool_calls) and not isinstance(message, AIMessageChunk)
    content = message.content if isinstance(message.content, str) else ""
    content = content.lstrip() if strip_lead else content
    if content and not whole_call:
        deltas.append({"content": content})
    if isinstance(message, AIMessageChunk) and message.tool_call_chunks:
        deltas.append({"tool_calls": [{"index": c.get("index") or 0, "id": c.get("id"), "type": "function",
                                       "function": {"name": c.get("name"), "arguments": c.get("args") or ""}}
                                      for c in message.tool_call_chunks]})
    elif whole_call:
        deltas.append({"tool_calls": [{"index": i, **call} for i, call in enumerate(tool_calls_of(message))]})
    return deltas


def error_event(message: str) -> str:
    """An error in the middle of a stream (the status is already sent); OpenAI's clients raise it."""
    return event_data({"error": {"message": message, "type": "server_error", "param": None, "code": None}})
