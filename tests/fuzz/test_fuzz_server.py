"""The server's request bodies: whatever JSON (or bytes) arrives, an OpenAI-style 4xx error, never a 500.

Bodies are drawn from each route's own field names (so many are almost valid) with values of any
JSON type, plus arbitrary bytes. Model names are drawn, not offered ones, so no body reaches a model.
"""

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st

from plait.config import Settings
from plait.serve import create_app

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text
json_like = st.recursive(scalars,
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                         max_leaves=10)
ROUTES = {
    "/v1/chat/completions": ["model", "messages", "temperature", "top_p", "max_tokens", "stop", "n", "stream",
                             "response_format", "tools", "seed"],
    "/v1/embeddings": ["model", "input", "encoding_format", "dimensions"],
    "/v1/fine_tuning/jobs": ["model", "training_file", "validation_file", "hyperparameters", "method", "suffix",
                             "seed"],
}
messages = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "tool", "x"]),
                                           "content": json_like}), max_size=3)


@pytest.fixture(scope="module")
def http(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("fuzz-serve") / ".plait", tracing=False)
    with TestClient(create_app(settings=settings, rate_limit_per_minute=0), raise_server_exceptions=False) as client:
        yield client


def assert_clean_error(response):
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["message"], str) and error["message"].strip()


@given(st.sampled_from(sorted(ROUTES)), st.data())
@example("/v1/chat/completions", None).via("a body whose messages are not a list")
def test_json_bodies_of_every_post_route(http, path, data):
    if data is None:
        body = {"model": "m", "messages": "hello"}
    else:
        keys = st.sampled_from(ROUTES[path] + ["unknown_field"])
        body = data.draw(st.dictionaries(keys, json_like | messages, max_size=5))
    assert_clean_error(http.post(path, json=body))


@given(st.sampled_from(sorted(ROUTES)), st.binary(max_size=300))
@example("/v1/embeddings", b"\xff\xfe{not json")
def test_bytes_bodies_of_every_post_route(http, path, raw):
    assert_clean_error(http.post(path, content=raw, headers={"Content-Type": "application/json"}))


@given(json_like)
def test_support_approval_bodies(body):
    from pydantic import ValidationError

    from plait.serve.assistant import ApprovalRequest

    try:
        ApprovalRequest.model_validate(body)
    except ValidationError as exc:
        assert exc.errors() and json.dumps(exc.errors(), default=str)
