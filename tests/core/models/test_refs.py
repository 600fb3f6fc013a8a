import pytest

from plait.config import load_settings
from plait.errors import ModelRefError
from plait.models.refs import ModelRef, parse_ref, reference_for


@pytest.mark.parametrize("text, expected", [
    ("local:gemma-3-270m", ModelRef("local", "gemma-3-270m")),
    ("gguf:/models/x.gguf", ModelRef("gguf", "/models/x.gguf")),
    ("openai:gpt-4o-mini", ModelRef("openai", "gpt-4o-mini")),
    ("openai:ft:gpt-4o-mini:acme::abc123", ModelRef("openai", "ft:gpt-4o-mini:acme::abc123")),
    ("openai-compatible:llama3@http://127.0.0.1:8000/v1/", ModelRef("openai-compatible", "llama3",
                                                                    "http://127.0.0.1:8000/v1")),
    ("lora:banking", ModelRef("lora", "banking")),
])
def test_parse_valid_references(text, expected):
    ref = parse_ref(text)
    assert ref == expected
    assert parse_ref(str(ref)) == ref


@pytest.mark.parametrize("text, message", [
    ("ollama:llama3", r"Unknown model reference.*gguf:PATH.*openai-compatible:MODEL@BASE_URL"),
    ("gguf:", "nothing after 'gguf:'"),
    ("local:llama-70b", "packaged models: gemma-3-270m"),
    ("openai-compatible:llama3", "openai-compatible:MODEL@http"),
    ("openai-compatible:llama3@localhost:8000", "openai-compatible:MODEL@http"),
])
def test_bad_references_list_valid_forms(text, message):
    with pytest.raises(ModelRefError, match=message):
        parse_ref(text)


def test_unknown_role_lists_known_roles(isolated):
    (isolated / "plait.toml").write_text('[models]\nrouter2 = "openai:x"\n')
    with pytest.raises(ModelRefError, match=r"neither a model reference nor a known role.*classifier.*router2"):
        reference_for("clasifier", settings=load_settings())


def test_role_bound_to_a_role_is_rejected(isolated):
    (isolated / "plait.toml").write_text('[models]\nclassifier = "answerer"\n')
    with pytest.raises(ModelRefError, match="roles cannot point at roles"):
        reference_for(None, role="classifier", settings=load_settings())


def test_custom_role_resolves_when_bound(isolated):
    (isolated / "plait.toml").write_text('[models]\ntriage = "openai:gpt-4o"\n')
    assert reference_for("triage", settings=load_settings()) == "openai:gpt-4o"
