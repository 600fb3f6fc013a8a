"""`plait serve` through the official OpenAI client, against a real uvicorn server."""

from __future__ import annotations

import json
import math
import threading
import time

import anyio
import httpx
import openai
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from plait.cli import app as cli
from plait.config import Settings
from plait.errors import PlaitError
from plait.models import resolve_model
from plait.serve import check_bind, create_app
from plait.serve.security import RateLimiter
from plait.serve.workers import DONE, Pump

LOCAL = "http://localhost"
"""TestClient base URL: a keyless server answers only requests addressed to this machine."""

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
CALCULATOR = {"type": "function", "function": {
    "name": "calculator", "description": "Evaluate an arithmetic expression such as 17 * 23.",
    "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}


# ---- without the language model ----------------------------------------------------------------

def test_models_lists_base_model_roles_adapters_and_embeddings(client):
    ids = {m.id for m in client.models.list()}
    assert {"local:gemma-3-270m", "answerer", "lora:demo-adapter", "all-MiniLM-L6-v2"} <= ids
    assert client.models.retrieve("lora:demo-adapter").owned_by == "plait"


def test_unknown_model_is_not_found_and_lists_the_valid_forms(client):
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="ollama:llama3", messages=QUESTION)
    message = info.value.body["message"]
    assert "Valid forms" in message and "openai-compatible:MODEL@BASE_URL" in message and "/v1/models" in message
    assert info.value.body["code"] == "model_not_found" and info.value.body["param"] == "model"
    with pytest.raises(openai.NotFoundError, match="neither a model reference nor a known role"):
        client.chat.completions.create(model="no-such-role", messages=QUESTION)


def test_bad_requests_are_400_in_openai_shape(client, base_url):
    with pytest.raises(openai.BadRequestError, match="n=2 is not supported"):
        client.chat.completions.create(model="local:gemma-3-270m", messages=QUESTION, n=2)
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]
    with pytest.raises(openai.BadRequestError, match="text parts only") as info:
        client.chat.completions.create(model="local:gemma-3-270m", messages=image)
    assert info.value.body["param"] == "messages.0.content"
    reply = httpx.post(f"{base_url}/chat/completions", content=b"{not json",
                       headers={"content-type": "application/json"})
    assert reply.status_code == 400 and "not valid JSON" in reply.json()["error"]["message"]


@pytest.mark.real
def test_embeddings_are_384_floats_of_unit_length(client):
    result = client.embeddings.create(model="all-MiniLM-L6-v2", input=["Where is my parcel?", "Reset my password"])
    assert [len(d.embedding) for d in result.data] == [384, 384]  # the client asked for base64 and decoded it
    assert math.isclose(sum(x * x for x in result.data[0].embedding), 1.0, rel_tol=1e-3)
    floats = client.embeddings.create(model="minilm", input="Where is my parcel?", encoding_format="float")
    assert floats.data[0].embedding == pytest.approx(result.data[0].embedding, abs=1e-5)
    assert floats.usage.prompt_tokens > 0
    with pytest.raises(openai.NotFoundError, match="all-MiniLM-L6-v2"):
        client.embeddings.create(model="text-embedding-3-small", input="x")


def test_api_keys_are_required_when_configured(serve_settings, serve_running):
    with serve_running(create_app(settings=serve_settings, api_keys=["s3cret"])) as base:
        with pytest.raises(openai.AuthenticationError, match="Authorization: Bearer"):
            openai.OpenAI(base_url=base, api_key="wrong", max_retries=0).models.list()
        assert httpx.get(f"{base}/models").status_code == 401  # no header at all
        assert len(openai.OpenAI(base_url=base, api_key="s3cret", max_retries=0).models.list().data) >= 3
        # A server others reach must not load arbitrary files or spend its own OpenAI key for them.
        with pytest.raises(openai.PermissionDeniedError, match="not offered by this server"):
            openai.OpenAI(base_url=base, api_key="s3cret", max_retries=0).chat.completions.create(
                model="gguf:/etc/passwd", messages=[{"role": "user", "content": "hi"}])
        for model in ("lora:no-such-adapter", "lora:../escape", "openai:gpt-4o-mini"):
            with pytest.raises(openai.PermissionDeniedError):
                openai.OpenAI(base_url=base, api_key="s3cret", max_retries=0).chat.completions.create(
                    model=model, messages=[{"role": "user", "content": "hi"}])


def test_a_path_prefix_does_not_bypass_the_api_key(serve_settings):
    from fastapi import FastAPI

    outer = FastAPI()
    outer.mount("/plait", create_app(settings=serve_settings, api_keys=["s3cret"]))
    http = TestClient(outer, base_url=LOCAL)
    assert http.get("/plait/v1/models").status_code == 401
    assert http.get("/plait/openapi.json").status_code == 401
    assert http.get("/plait/").status_code == 200  # the chat page itself is public
    assert http.get("/plait/v1/models", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_a_keyless_server_refuses_requests_a_web_page_aimed_elsewhere(serve_settings):
    http = TestClient(create_app(settings=serve_settings), base_url=LOCAL)
    assert http.get("/v1/models").status_code == 200
    assert http.get("/v1/models", headers={"Origin": "http://127.0.0.1:8000"}).status_code == 200
    rebound = http.get("/v1/models", headers={"Host": "attacker.example:8000"})  # DNS rebinding
    assert rebound.status_code == 403 and "--api-key" in rebound.json()["error"]["message"]
    cross_site = http.post("/v1/files", headers={"Origin": "https://attacker.example"},
                           files={"file": ("x.jsonl", b"{}")}, data={"purpose": "fine-tune"})
    assert cross_site.status_code == 403
    # With keys the key is the guard, whatever the Host.
    keyed = TestClient(create_app(settings=serve_settings, api_keys=["k"]), base_url="http://plait.internal")
    assert keyed.get("/v1/models", headers={"Authorization": "Bearer k"}).status_code == 200


def test_oversized_bodies_are_refused_with_413(serve_settings):
    http = TestClient(create_app(settings=serve_settings, max_body_bytes=2_000), base_url=LOCAL)
    big = {"model": "local:gemma-3-270m", "messages": [{"role": "user", "content": "x" * 5_000}]}
    reply = http.post("/v1/chat/completions", json=big)
    assert reply.status_code == 413 and "--max-body-bytes" in reply.json()["error"]["message"]
    chunked = http.post("/v1/chat/completions", content=iter([json.dumps(big).encode()]),
                        headers={"content-type": "application/json"})  # no Content-Length: counted as read
    assert chunked.status_code == 413 and chunked.json()["error"]["code"] == "request_too_large"


def test_rate_limit_answers_429_with_retry_after(serve_settings):
    http = TestClient(create_app(settings=serve_settings, rate_limit_per_minute=2), base_url=LOCAL)
    assert [http.get("/v1/models").status_code for _ in range(2)] == [200, 200]
    refused = http.get("/v1/models")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["type"] == "rate_limit_error"


def test_rate_limiter_refills_over_time():
    limiter = RateLimiter(per_minute=60)
    assert all(limiter.retry_after("a", now=0.0) == 0 for _ in range(60))
    assert limiter.retry_after("a", now=0.0) == 1 and limiter.retry_after("b", now=0.0) == 0
    assert limiter.retry_after("a", now=2.0) == 0


def test_serving_beyond_loopback_needs_an_api_key(monkeypatch):
    for host in ("127.0.0.1", "localhost", "::1"):
        check_bind(host, api_keys=())
    check_bind("0.0.0.0", api_keys=["k"])
    started = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: started.append(kw))
    refused = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert isinstance(refused.exception, PlaitError) and "--api-key" in str(refused.exception) and not started
    monkeypatch.setenv("PLAIT_SERVE_API_KEYS", "k1,k2")
    assert CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "8123"]).exit_code == 0
    assert started == [{"host": "0.0.0.0", "port": 8123, "log_level": "info"}]


def test_a_stream_is_openai_server_sent_events(serve_settings, monkeypatch):
    from plait.testing import ScriptedChatModel

    monkeypatch.setattr("plait.serve.inference.resolve_model",
                        lambda *a, **k: ScriptedChatModel(replies=["Paris is lovely"], cycle=True))
    http = TestClient(create_app(settings=serve_settings), base_url=LOCAL)
    body = {"model": "scripted", "messages": QUESTION, "stream": True, "stream_options": {"include_usage": True}}
    with http.stream("POST", "/v1/chat/completions", json=body) as reply:
        raw = "".join(reply.iter_text())
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = raw.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""] and all(e.startswith("data: {") for e in events[:-2])
    first = json.loads(events[0].removeprefix("data: "))
    assert first["object"] == "chat.completion.chunk" and first["choices"][0]["delta"] == {"role": "assistant",
                                                                                          "content": ""}
    # The official client reads the same stream: text, then the finish, then the usage.
    client = openai.OpenAI(base_url=f"{LOCAL}/v1", api_key="x", max_retries=0, http_client=http)
    chunks = list(client.chat.completions.create(model="scripted", messages=QUESTION, stream=True,
                                                 stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Paris is lovely"
    assert chunks[-2].choices[0].finish_reason == "stop" and chunks[-1].usage.completion_tokens == 3


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
def test_a_stream_nobody_reads_still_finishes_and_frees_the_model(anyio_backend):
    lock = threading.Lock()

    def generate():
        with lock:  # as LlamaCppChat._stream holds the model's lock while it generates
            yield from range(100)

    async def main():
        app = create_app(settings=Settings(tracing=False))
        request = type("Request", (), {"app": app})()
        pump = await Pump.start(request, generate, local=True)
        await pump.task  # nobody has read a single item
        assert not lock.locked() and pump.queue.qsize() == 101
        assert [await pump.next() for _ in range(101)][-1] is DONE

    anyio.run(main)


# ---- with the real local model -----------------------------------------------------------------

def _ask(client, **options):
    return client.chat.completions.create(model="local:gemma-3-270m", messages=QUESTION, max_tokens=12,
                                          temperature=0, seed=7, **options)


@pytest.mark.real
def test_chat_completion_returns_text_and_usage(client):
    reply = _ask(client)
    assert reply.object == "chat.completion" and reply.model == "local:gemma-3-270m"
    assert reply.choices[0].message.content.strip() and reply.choices[0].finish_reason in ("stop", "length")
    assert reply.usage.prompt_tokens > 5 and 0 < reply.usage.completion_tokens <= 12


@pytest.mark.real
def test_streamed_reply_equals_the_plain_reply(client):
    plain = _ask(client).choices[0].message.content
    chunks = list(_ask(client, stream=True, stream_options={"include_usage": True}))
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) >= 3 and "".join(pieces) == plain
    assert chunks[-2].choices[0].finish_reason in ("stop", "length")
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


@pytest.mark.real
def test_json_schema_response_parses_and_fits_the_schema(client):
    text = {"type": "string", "maxLength": 30}
    schema = {"type": "object", "additionalProperties": False, "required": ["city", "country"],
              "properties": {"city": text, "country": text}}
    reply = client.chat.completions.create(
        model="local:gemma-3-270m", temperature=0, messages=[{"role": "user", "content": "Name a famous city."}],
        response_format={"type": "json_schema", "json_schema": {"name": "place", "schema": schema}})
    value = json.loads(reply.choices[0].message.content)
    assert set(value) == {"city", "country"} and all(isinstance(v, str) and len(v) <= 30 for v in value.values())
    anything = client.chat.completions.create(
        model="local:gemma-3-270m", temperature=0, messages=[{"role": "user", "content": "Describe Paris as JSON."}],
        response_format={"type": "json_object"})
    assert isinstance(json.loads(anything.choices[0].message.content), dict)


def _check_call(call):
    assert call.type == "function" and call.function.name == "calculator"
    assert isinstance(json.loads(call.function.arguments)["expression"], str)


@pytest.mark.real
def test_tools_give_a_valid_call_or_an_answer(client):
    ask = [{"role": "user", "content": "What is 17 * 23? Use the calculator."}]
    reply = client.chat.completions.create(model="local:gemma-3-270m", messages=ask, tools=[CALCULATOR], temperature=0)
    choice = reply.choices[0]
    if choice.message.tool_calls:
        assert choice.finish_reason == "tool_calls" and len(choice.message.tool_calls) == 1
        _check_call(choice.message.tool_calls[0])
    else:
        assert choice.message.content.strip() and choice.finish_reason == "stop"
    forced = client.chat.completions.create(model="local:gemma-3-270m", messages=ask, tools=[CALCULATOR],
                                            tool_choice="required", temperature=0, stream=True)
    deltas = [c.choices[0].delta for c in forced if c.choices]
    calls = [call for d in deltas for call in d.tool_calls or []]
    assert len(calls) == 1
    _check_call(calls[0])


@pytest.mark.real
def test_a_slow_streaming_client_does_not_hold_up_others(client, base_url):
    done: dict[str, float] = {}
    first_chunk, fast_answered = threading.Event(), threading.Event()

    def slow_reader():
        stream = client.chat.completions.create(
            model="local:gemma-3-270m", stream=True, max_tokens=16, temperature=0,
            messages=[{"role": "user", "content": "Count from one to twenty: one, two, three,"}])
        for _chunk in stream:
            first_chunk.set()
            fast_answered.wait(120)  # reads nothing more until the other client has its answer
            time.sleep(0.05)
        done["slow"] = time.monotonic()

    slow = threading.Thread(target=slow_reader)
    slow.start()
    assert first_chunk.wait(120)
    other = openai.OpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=120)
    assert other.chat.completions.create(model="local:gemma-3-270m", messages=QUESTION, max_tokens=4).choices
    done["fast"] = time.monotonic()
    fast_answered.set()
    slow.join(180)
    assert done["fast"] < done["slow"]


@pytest.mark.real
def test_openai_compatible_reference_works_against_the_server(base_url, client):
    ref = f"openai-compatible:local:gemma-3-270m@{base_url}"
    llm = resolve_model(ref, settings=Settings(tracing=False), max_tokens=8, temperature=0, max_retries=0)
    reply = llm.invoke("What is the capital of France?")
    assert isinstance(reply.content, str) and reply.content.strip()
    assert reply.usage_metadata["input_tokens"] > 0
    # Served by reference, the server is itself an OpenAI model: tools pass through natively.
    ask = [{"role": "user", "content": "What is 17 * 23? Use the calculator."}]
    relayed = client.chat.completions.create(model=ref, messages=ask, tools=[CALCULATOR], tool_choice="required")
    _check_call(relayed.choices[0].message.tool_calls[0])
    # The upstream's refusal keeps its status: a 404 the client will not retry, not a 500.
    with pytest.raises(openai.NotFoundError, match="upstream model server answered 404"):
        client.chat.completions.create(model=f"openai-compatible:no-such-model@{base_url}", messages=ask)


def test_a_keyed_server_offers_exactly_what_it_lists(tmp_path):
    from plait.finetune.store import AdapterInfo, save_info
    from plait.serve.inference import _offered

    settings = Settings(home=tmp_path, tracing=False, models={"classifier": "local:gemma-3-270m"})
    save_info(AdapterInfo(name="mine", method="lora", base="local:gemma-3-270m"), settings)
    http = TestClient(create_app(settings=settings, api_keys=["k"]), base_url=LOCAL)
    listed = {m["id"] for m in http.get("/v1/models", headers={"Authorization": "Bearer k"}).json()["data"]}
    chat_models = listed - {m for m in listed if "MiniLM" in m}  # the embedding model is not a chat model
    assert {"local:gemma-3-270m", "classifier", "lora:mine"} <= chat_models
    assert all(_offered(settings, m) for m in chat_models)
    assert not any(_offered(settings, m) for m in ("lora:other", "gguf:/tmp/x.gguf", "openai:gpt-4o"))
