"""OpenAI-compatible inference routes: ``/v1/models``, ``/v1/chat/completions``, ``/v1/embeddings``.

``model`` is any plait reference or role, resolved by :func:`plait.models.resolve_model`.
On llama.cpp models, ``response_format`` and ``tools`` become constrained decoding: a JSON
schema, or plait's JSON ReAct protocol (:mod:`plait.agents.protocol`) whose grammar admits
only a call of one of the given tools or a final answer. OpenAI references get both natively.
Model calls run in worker threads, local ones through a FIFO queue (:mod:`plait.serve.workers`).

Example:
    >>> from openai import OpenAI  # doctest: +SKIP
    >>> client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="unused")  # doctest: +SKIP
    >>> client.chat.completions.create(model="local:gemma-3-270m", max_tokens=16,
    ...                                messages=[{"role": "user", "content": "Hi"}])  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Request
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import StructuredTool
from sse_starlette import EventSourceResponse

from plait.errors import PlaitError
from plait.models import ModelSettings, capabilities, resolve_model
from plait.models.refs import LOCAL_MODELS
from plait.models.settings import FREE_TEXT, PROTOCOL_MIN_TOKENS
from plait.serve.openai_format import (
    ChatRequest,
    Chunks,
    ContentPart,
    EmbeddingRequest,
    ToolCall,
    ToolSpec,
    completion,
    deltas_of,
    error_event,
    finish_reason,
    usage_of,
)
from plait.serve.workers import DONE, Pump, in_worker

router = APIRouter(prefix="/v1")
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
EMBEDDING_ALIASES = frozenset({EMBEDDING_MODEL, "minilm", "local", f"sentence-transformers/{EMBEDDING_MODEL}"})
MAX_EMBEDDING_INPUTS = 2048


def _bad_request(message: str, param: str | None = None, status: int = 400) -> HTTPException:
    return HTTPException(status, detail={"message": message, "param": param})


# ---- /v1/models ---------------------------------------------------------------------------------

def _model_entries(request: Request) -> list[dict[str, Any]]:
    from plait.finetune.store import list_adapters  # a layer above the core: imported where used

    settings = request.app.state.settings
    entry = {"object": "model", "created": 0, "owned_by": "plait"}
    entries = [{**entry, "id": f"local:{name}"} for name in LOCAL_MODELS]
    entries += [{**entry, "id": role, "reference": ref} for role, ref in sorted(settings.models.items())]
    for adapter in list_adapters(settings):
        created = int(_timestamp(adapter.created))
        entries.append({**entry, "id": f"lora:{adapter.name}", "created": created, "reference": adapter.base,
                        "method": adapter.method})
    entries.append({**entry, "id": EMBEDDING_MODEL, "kind": "embedding"})
    return entries


def _timestamp(iso: str) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0


@router.get("/models")
async def list_models(request: Request) -> dict[str, Any]:
    """Base models, roles bound in plait.toml, every stored adapter as ``lora:NAME``, and the embedding model."""
    return {"object": "list", "data": await anyio.to_thread.run_sync(_model_entries, request)}


@router.get("/models/{model_id:path}")
async def retrieve_model(model_id: str, request: Request) -> dict[str, Any]:
    """One entry of ``/v1/models``."""
    entries = await anyio.to_thread.run_sync(_model_entries, request)
    for entry in entries:
        if entry["id"] == model_id:
            return entry
    raise HTTPException(404, detail={"message": f"No model {model_id!r}; GET /v1/models lists them. Any plait "
                                                "reference also works in requests.", "param": "model",
                                     "code": "model_not_found"})


def _offered(settings: Any, model: str) -> bool:
    """Whether ``model`` is an entry of ``/v1/models``, without listing (and reading) every adapter."""
    if model.startswith("lora:"):
        from plait.finetune.store import adapter_dir
        from plait.models.registry import ADAPTER_META

        try:
            return (adapter_dir(model.removeprefix("lora:"), settings) / ADAPTER_META).is_file()
        except PlaitError:  # a name the store refuses (path characters, say) is not offered
            return False
    return model in {f"local:{name}" for name in LOCAL_MODELS} or model in settings.models


async def _check_offered(request: Request, model: str) -> None:
    """With API keys (a server others reach), serve only what ``/v1/models`` lists.

    Otherwise a client could name ``gguf:/any/path`` on the server's disk, or spend the
    server's OpenAI key through ``openai:...``. On loopback without keys, the caller is the
    operator and any plait reference works.
    """
    if not request.app.state.api_keys:
        return
    if not _offered(request.app.state.settings, model):
        raise HTTPException(403, detail={
            "message": f"Model {model!r} is not offered by this server: with API keys set it serves only the "
                       "models GET /v1/models lists (base models, roles bound in plait.toml, adapters). "
                       "Ask the operator to bind it to a role in plait.toml.",
            "param": "model", "code": "model_not_offered"})


# ---- /v1/chat/completions -----------------------------------------------------------------------

def _text(content: str | list[ContentPart] | None, where: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    for part in content:
        if part.type != "text":
            raise _bad_request(f"Content part type {part.type!r} is not supported; send text parts only.", where)
    return "".join(part.text or "" for part in content)


def _to_messages(body: ChatRequest) -> list[BaseMessage]:
    messages: list[BaseMessage] = []
    for i, m in enumerate(body.messages):
        text = _text(m.content, f"messages.{i}.content")
        if m.role in ("system", "developer"):
            messages.append(SystemMessage(text))
        elif m.role == "user":
            messages.append(HumanMessage(text))
        elif m.role == "tool":
            messages.append(ToolMessage(text, tool_call_id=m.tool_call_id or ""))
        else:
            calls = [_call_in(c, f"messages.{i}.tool_calls") for c in m.tool_calls or []]
            messages.append(AIMessage(text, tool_calls=calls))
    return messages


def _call_in(call: ToolCall, where: str) -> dict[str, Any]:
    try:
        args = json.loads(call.function.arguments or "{}")
    except json.JSONDecodeError as exc:
        raise _bad_request(f"Tool call arguments must be a JSON object string ({exc.msg}).", where) from exc
    return {"name": call.function.name, "args": args if isinstance(args, dict) else {"input": args},
            "id": call.id or f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}


def _check(body: ChatRequest) -> None:
    if body.n != 1:
        raise _bad_request(f"n={body.n} is not supported: plait serve returns one choice per request; "
                           "send n separate requests (with different seeds) instead.", "n")
    if body.logprobs:
        raise _bad_request("logprobs are not supported by plait serve; leave logprobs unset.", "logprobs")


def _model_options(body: ChatRequest) -> dict[str, Any]:
    options = {"temperature": body.temperature, "top_p": body.top_p, "seed": body.seed,
               "max_tokens": body.max_completion_tokens or body.max_tokens}
    return {k: v for k, v in options.items() if v is not None}


@dataclass(frozen=True)
class _Plan:
    """How to run one request: the runnable, the messages it sees, and how to read its reply."""

    runnable: Runnable
    messages: list[BaseMessage]
    local: bool
    """A model in this process: queued FIFO, leading whitespace of the reply dropped."""
    tool_names: tuple[str, ...] = ()
    """Set when the reply is protocol JSON to parse into a tool call or an answer."""


def _plan(body: ChatRequest, llm: Any) -> _Plan:
    messages, can = _to_messages(body), capabilities(llm)
    stops = [body.stop] if isinstance(body.stop, str) else body.stop
    settings = ModelSettings(stop=tuple(stops) if stops else None)
    runnable: Runnable = llm.bind(**settings.options())
    tools = body.tools if body.tools and body.tool_choice != "none" else None
    wants_json = (body.response_format or {}).get("type", "text") != "text"
    if can.native_tools:  # OpenAI references: tools and response_format pass through
        if body.tools:
            tool_choice = {"tool_choice": body.tool_choice} if body.tool_choice else {}
            runnable = llm.bind_tools([t.model_dump() for t in body.tools], **tool_choice).bind(**settings.options())
        runnable = runnable.bind(response_format=body.response_format) if wants_json else runnable
        return _Plan(runnable, messages, can.in_process)
    if (tools or wants_json) and not can.constrained:
        raise _bad_request(f"Model {body.model!r} supports neither tools nor response_format; use a llama.cpp "
                           "model (local:, gguf:, lora: with a GGUF adapter) or an OpenAI reference.", "model")
    if tools and wants_json:
        raise _bad_request("On local models send either tools or response_format, not both.", "response_format")
    if tools:
        return _tools_plan(body, tools, llm, settings, messages)
    if wants_json:
        return _json_plan(body, llm, settings, messages)
    return _Plan(runnable, messages, can.in_process)


def _json_plan(body: ChatRequest, llm: Any, settings: ModelSettings, messages: list[BaseMessage]) -> _Plan:
    fmt = body.response_format or {}
    if fmt.get("type") == "json_object":
        schema: Any = {"type": "object"}
    elif fmt.get("type") == "json_schema" and isinstance((fmt.get("json_schema") or {}).get("schema"), dict):
        schema = fmt["json_schema"]["schema"]
    else:
        raise _bad_request("response_format must be {\"type\": \"text\"}, {\"type\": \"json_object\"} or "
                           "{\"type\": \"json_schema\", \"json_schema\": {\"name\": ..., \"schema\": {...}}}.",
                           "response_format")
    # An explicit max_tokens is honoured (a cut-off reply ends with finish_reason "length", as on OpenAI);
    # otherwise the model's structured-output budget applies.
    budget = ModelSettings(max_tokens=_model_options(body).get("max_tokens"))
    try:
        # The model's own structured output, unparsed: it adds the schema hint and streams as text.
        runnable = llm.constrained_output(schema, settings=settings.merged_with(budget))
    except Exception as exc:  # the grammar converter raises assorted errors on schemas it cannot express
        raise _bad_request(f"The JSON schema cannot be used for constrained decoding ({exc}); simplify it "
                           "(plain types, properties, enum, arrays).", "response_format") from exc
    return _Plan(runnable, messages, capabilities(llm).in_process)


def _tools_plan(body: ChatRequest, tools: list[ToolSpec], llm: Any, settings: ModelSettings,
                messages: list[BaseMessage]) -> _Plan:
    from plait.agents.prompts import REACT, REACT_TOOLS
    from plait.agents.protocol import describe_tools, protocol_schema, to_protocol
    from plait.agents.react import trained_for_tools

    choice, required = body.tool_choice or "auto", body.tool_choice == "required"
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        tools, required = [t for t in tools if t.function.name == name], True
        if not tools:
            raise _bad_request(f"tool_choice names {name!r}, which is not among the tools.", "tool_choice")
    elif choice not in ("auto", "required"):
        raise _bad_request(f"tool_choice must be 'auto', 'none', 'required' or a function, got {choice!r}.",
                           "tool_choice")
    specs = [StructuredTool(name=t.function.name, description=t.function.description, func=_never,
                            args_schema=t.function.parameters) for t in tools]
    trained = trained_for_tools(llm)  # the tool-calling adapter is prompted the way it was trained
    schema = protocol_schema(specs, thoughts=not trained)
    if required:  # drop the final-answer branch: the grammar then admits tool calls only
        schema = {"anyOf": [branch for branch in schema["anyOf"] if "tool" in branch["properties"]]}
    budget = ModelSettings(max_tokens=max(_model_options(body).get("max_tokens", llm.max_tokens), PROTOCOL_MIN_TOKENS))
    runnable = llm.constrained_output(schema, schema_hint=False,
                                      settings=settings.merged_with(FREE_TEXT).merged_with(budget))
    system = (REACT_TOOLS if trained else REACT).template.invoke({"tools": describe_tools(specs)}).to_messages()
    return _Plan(runnable, [*system, *to_protocol(messages, thoughts=not trained)], capabilities(llm).in_process,
                 tuple(t.name for t in specs))


def _never(**kwargs: Any) -> None:
    raise RuntimeError("plait serve describes tools to the model; the client runs them.")


def _reply(plan: _Plan, message: AIMessage) -> AIMessage:
    """Read a finished reply: parse protocol JSON into a tool call or an answer, trim the local model's lead space."""
    if plan.tool_names:
        from plait.agents.protocol import parse_reply

        parsed = parse_reply(str(message.content), plan.tool_names)  # OutputParseError -> 422 with the reason
        return parsed.model_copy(update={"usage_metadata": message.usage_metadata,
                                         "response_metadata": message.response_metadata})
    if plan.local and isinstance(message.content, str):
        return message.model_copy(update={"content": message.content.lstrip()})
    return message


@router.post("/chat/completions", response_model=None)
async def chat_completions(body: ChatRequest, request: Request) -> dict[str, Any] | EventSourceResponse:
    """Chat with any plait model; ``stream: true`` answers with server-sent events."""
    _check(body)
    await _check_offered(request, body.model)
    # In a worker: the first use of the packaged model assembles its GGUF file (disk I/O).
    llm = await anyio.to_thread.run_sync(partial(resolve_model, body.model, settings=request.app.state.settings,
                                                 **_model_options(body)))
    plan = _plan(body, llm)
    ident = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()), "model": body.model}
    if body.stream:
        chunks = Chunks(**ident, include_usage=bool(body.stream_options and body.stream_options.include_usage))
        return await _stream(request, plan, chunks)
    message = _reply(plan, await in_worker(request, plan.runnable.invoke, plan.messages, local=plan.local))
    return completion(message, **ident)


async def _stream(request: Request, plan: _Plan, chunks: Chunks) -> EventSourceResponse:
    if plan.tool_names:
        # Protocol JSON means something only once complete: generate, parse, then send it as chunks.
        def iterate() -> Iterator[Any]:
            yield _reply(plan, plan.runnable.invoke(plan.messages))
    else:
        def iterate() -> Iterator[Any]:
            yield from plan.runnable.stream(plan.messages, **({} if plan.local else {"stream_usage": True}))
    pump = await Pump.start(request, iterate, local=plan.local)
    first = await pump.next()
    if isinstance(first, Exception):
        raise first  # nothing is sent yet, so the client gets a proper status and error body
    # sse-starlette frames each event; "\n" line ends, as OpenAI's own server writes them.
    return EventSourceResponse(_events(pump, first, plan, chunks), sep="\n", headers={"Cache-Control": "no-cache"})


async def _events(pump: Pump, item: Any, plan: _Plan, chunks: Chunks) -> AsyncIterator[str]:
    """The data of each event: the reply's chunks, its finish, its usage if asked for, then ``[DONE]``."""
    yield chunks.delta({"role": "assistant", "content": ""})
    usage, reported, lead = None, None, plan.local
    try:
        while item is not DONE:
            if isinstance(item, Exception):
                yield error_event(f"Generation failed: {item}")
                return
            usage = item if item.usage_metadata else usage
            if item.tool_calls and plan.tool_names:
                reported = "tool_calls"  # a parsed protocol reply, sent whole
            else:
                reported = item.response_metadata.get("finish_reason") or reported
            for delta in deltas_of(item, strip_lead=lead):
                lead = lead and not delta.get("content")  # the local model's reply starts with a space
                yield chunks.delta(delta)
            item = await pump.next()
        yield chunks.delta({}, finish_reason(None, reported))
        if chunks.include_usage:
            yield chunks.usage(usage_of(usage))
        yield "[DONE]"
    finally:
        pump.stop()  # a no-op after the end; stops generation when the client went away


# ---- /v1/embeddings -----------------------------------------------------------------------------

def _embed(texts: list[str]) -> tuple[Any, int]:
    from plait.retrieval.embeddings import local_embeddings

    embeddings = local_embeddings()
    vectors = embeddings.encode(texts)
    tokens = sum(len(ids) for ids in embeddings.model.tokenizer(texts, truncation=True)["input_ids"])
    return vectors, tokens


@router.post("/embeddings")
async def create_embeddings(body: EmbeddingRequest, request: Request) -> dict[str, Any]:
    """Embed text with the packaged all-MiniLM-L6-v2 (384 dimensions, unit length)."""
    if body.model not in EMBEDDING_ALIASES:
        aliases = ", ".join(sorted(EMBEDDING_ALIASES - {EMBEDDING_MODEL}))
        raise HTTPException(404, detail={"message": f"No embedding model {body.model!r}; plait serves "
                                                    f"{EMBEDDING_MODEL} (also called {aliases}).",
                                         "param": "model", "code": "model_not_found"})
    texts = [body.input] if isinstance(body.input, str) else list(body.input)
    if not texts or len(texts) > MAX_EMBEDDING_INPUTS or any(not t for t in texts):
        raise _bad_request(f"input must be a non-empty string or a list of 1 to {MAX_EMBEDDING_INPUTS} "
                           "non-empty strings.", "input")
    if body.dimensions not in (None, 384):
        raise _bad_request(f"{EMBEDDING_MODEL} has 384 dimensions; leave dimensions unset or send 384.", "dimensions")
    vectors, tokens = await in_worker(request, _embed, texts, local=True)  # the same cores as generation
    if body.encoding_format == "base64":
        data = [base64.b64encode(v.astype("<f4").tobytes()).decode("ascii") for v in vectors]
    else:
        data = vectors.tolist()
    return {"object": "list", "model": EMBEDDING_MODEL, "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            "data": [{"object": "embedding", "index": i, "embedding": e} for i, e in enumerate(data)]}
