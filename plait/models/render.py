"""Render chat messages as one prompt string for llama.cpp.

GGUF files with a chat template are rendered through it. Base models (the packaged Gemma 3
270M has no template) get a plain transcript, the format base models continue best::

    {system message}

    User: {human message}
    Assistant: {ai message}
    User: {human message}
    Assistant:

Generation stops when the model starts the next ``User:`` turn.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage

ROLE_PREFIX = {"human": "User", "ai": "Assistant", "tool": "Observation"}
TRANSCRIPT_STOPS = ("\nUser:", "\nObservation:")


@dataclass(frozen=True)
class Rendered:
    """A prompt string and the stop sequences that end the assistant's turn."""

    prompt: str
    stop: tuple[str, ...]


def text_of(message: BaseMessage) -> str:
    """Return a message's text, joining multi-part content."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = (part if isinstance(part, str) else part.get("text", "") for part in content)
    return "".join(parts)


def _turn(message: BaseMessage) -> str:
    text = text_of(message).strip()
    if isinstance(message, AIMessage) and message.tool_calls:
        calls = [{"tool": c["name"], "args": c["args"]} for c in message.tool_calls]
        text = (text + "\n" if text else "") + json.dumps(calls[0] if len(calls) == 1 else calls)
    if isinstance(message, ToolMessage):
        return f"Observation: {text}"
    prefix = ROLE_PREFIX.get(message.type, message.type.capitalize())
    return f"{prefix}: {text}"


def render_transcript(messages: Sequence[BaseMessage]) -> Rendered:
    """Render messages as a plain transcript ending in an open assistant turn.

    Example:
        >>> render_transcript([HumanMessage("Hi")]).prompt
        'User: Hi\\nAssistant:'
    """
    system = [text_of(m).strip() for m in messages if isinstance(m, SystemMessage)]
    turns = [_turn(m) for m in messages if not isinstance(m, SystemMessage)]
    # A trailing AI message is a prefix the caller wants continued, so leave it open.
    if messages and isinstance(messages[-1], AIMessage):
        prompt_turns = turns
    else:
        prompt_turns = [*turns, "Assistant:"]
    head = "\n\n".join(system) + "\n\n" if system else ""
    return Rendered(head + "\n".join(prompt_turns), TRANSCRIPT_STOPS)


def _as_dict(message: BaseMessage) -> dict[str, str]:
    role = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}.get(message.type, "user")
    return {"role": role, "content": text_of(message)}


def render_with_template(messages: Sequence[BaseMessage], *, template: str, bos: str, eos: str) -> Rendered:
    """Render messages through a GGUF's Jinja chat template."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
    result = formatter(messages=[_as_dict(m) for m in messages])
    stops = result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
    # llama.cpp adds BOS itself when tokenizing; a second one from the template hurts quality.
    prompt = result.prompt.removeprefix(bos) if bos else result.prompt
    return Rendered(prompt, tuple(stops))
