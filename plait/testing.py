"""Deterministic scripted chat models for testing chains and graphs without a real model.

Use them for control flow: which node runs, what happens on bad output, retries. Use the real
local model for behaviour.

Example:
    >>> from plait.testing import ScriptedChatModel, tool_call
    >>> llm = ScriptedChatModel(replies=["hello", tool_call("search", query="plait")])
    >>> llm.invoke("hi").content
    'hello'
    >>> llm.invoke("find it").tool_calls[0]["name"]
    'search'
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, PrivateAttr

from plait.errors import ScriptExhaustedError
from plait.models.structured import parser_for

Reply = str | AIMessage | BaseModel | dict | Exception


def tool_call(name: str, **args: Any) -> AIMessage:
    """Return an AI message that calls tool ``name`` with ``args``."""
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:8]}"}])


def _count(text: str) -> int:
    return len(text.split())


class ScriptedChatModel(BaseChatModel):
    """A chat model that returns queued replies in order and records what it was sent.

    Replies may be strings, ``AIMessage`` objects (use :func:`tool_call` for tool calls),
    Pydantic objects or dicts (for ``with_structured_output``), or exceptions to raise.
    """

    replies: list[Any]
    """Queued replies, consumed one per call."""
    cycle: bool = False
    """Start again from the first reply when the queue runs out, instead of raising."""

    _index: int = PrivateAttr(default=0)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _calls: list[list[BaseMessage]] = PrivateAttr(default_factory=list)
    _tools: list[Any] = PrivateAttr(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "plait-scripted"

    @property
    def calls(self) -> list[list[BaseMessage]]:
        """The message lists this model received, one per call."""
        return list(self._calls)

    @property
    def remaining(self) -> int:
        """Replies not yet used."""
        return len(self.replies) - self._index

    def _next(self, messages: list[BaseMessage]) -> Any:
        with self._lock:
            self._calls.append(list(messages))
            if self._index >= len(self.replies):
                if not (self.cycle and self.replies):
                    raise ScriptExhaustedError(
                        f"ScriptedChatModel was called {len(self._calls)} times but has {len(self.replies)} "
                        "replies. Add replies to the script, or pass cycle=True.")
                self._index = 0
            reply = self.replies[self._index]
            self._index += 1
        if isinstance(reply, Exception):
            raise reply
        return reply

    def _message(self, reply: Any, messages: list[BaseMessage]) -> AIMessage:
        if isinstance(reply, AIMessage):
            message = reply.model_copy()
        elif isinstance(reply, BaseModel):
            message = AIMessage(content=reply.model_dump_json())
        elif isinstance(reply, dict):
            message = AIMessage(content=json.dumps(reply))
        else:
            message = AIMessage(content=str(reply))
        n_in = sum(_count(str(m.content)) for m in messages)
        n_out = _count(str(message.content))
        message.usage_metadata = {"input_tokens": n_in, "output_tokens": n_out, "total_tokens": n_in + n_out}
        return message

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._message(self._next(messages), messages))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        message = self._message(self._next(messages), messages)
        words = str(message.content).split(" ")
        for i, word in enumerate(words):
            text = word if i == len(words) - 1 else word + " "
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
            if run_manager:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk
        yield ChatGenerationChunk(message=AIMessageChunk(
            content="", usage_metadata=message.usage_metadata,
            tool_call_chunks=[{"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
                              for i, c in enumerate(message.tool_calls)]))

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        """Record ``tools`` and return this model; replies decide which tool is called."""
        self._tools = list(tools)
        return self

    def with_structured_output(self, schema: Any, *, include_raw: bool = False,
                               **kwargs: Any) -> Runnable[LanguageModelInput, Any]:
        """Parse the next reply into ``schema`` exactly as the local backend does."""
        parse = parser_for(schema)
        return self | RunnableLambda(lambda message: parse(message.content), name="parse_structured")
