import json

import pytest
from langchain_openai import ChatOpenAI

from plait.config import Settings, load_settings
from plait.errors import MissingAPIKeyError, ModelFileError, ModelRefError
from plait.models import LlamaCppChat, gemma_270m_path, resolve_model
from plait.testing import ScriptedChatModel
from plait.tracing import SQLiteTracer


def test_a_chat_model_passes_through_unchanged():
    llm = ScriptedChatModel(replies=["x"])
    assert resolve_model(llm) is llm


def test_local_reference_builds_llamacpp_on_the_packaged_file(settings):
    llm = resolve_model("local:gemma-3-270m", settings=settings, max_tokens=7)
    assert isinstance(llm, LlamaCppChat)
    assert llm.model_path == str(gemma_270m_path())
    assert llm.max_tokens == 7
    assert llm.metadata["plait_model_ref"] == "local:gemma-3-270m"


def test_local_options_from_config_reach_the_model(isolated):
    (isolated / "plait.toml").write_text("[local]\nn_ctx = 1024\n")
    assert resolve_model(settings=load_settings()).n_ctx == 1024


def test_role_binding_selects_the_model(isolated):
    (isolated / "plait.toml").write_text(f'[models]\nclassifier = "gguf:{gemma_270m_path()}"\n')
    llm = resolve_model(role="classifier", settings=load_settings())
    assert llm.metadata["plait_model_ref"] == f"gguf:{gemma_270m_path()}"


def test_missing_gguf_file_names_the_path(settings):
    with pytest.raises(ModelFileError, match="nope.gguf does not exist"):
        resolve_model("gguf:nope.gguf", settings=settings)


def test_openai_without_key_names_the_env_var(settings):
    with pytest.raises(MissingAPIKeyError, match="set the OPENAI_API_KEY"):
        resolve_model("openai:gpt-4o-mini", settings=settings)


def test_openai_with_key_builds_chat_openai(settings, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    llm = resolve_model("openai:ft:gpt-4o-mini:acme::x1", settings=settings, temperature=0)
    assert isinstance(llm, ChatOpenAI)
    assert llm.model_name == "ft:gpt-4o-mini:acme::x1"


def test_openai_compatible_needs_no_key(settings):
    llm = resolve_model("openai-compatible:qwen@http://127.0.0.1:9999/v1", settings=settings)
    assert isinstance(llm, ChatOpenAI)
    assert llm.openai_api_base == "http://127.0.0.1:9999/v1"
    assert llm.model_name == "qwen"


def test_missing_adapter_lists_the_store(settings):
    with pytest.raises(ModelRefError, match="No adapter 'banking'.*none yet"):
        resolve_model("lora:banking", settings=settings)


def test_adapter_without_gguf_says_how_to_fix(settings):
    folder = settings.home / "adapters" / "banking"
    folder.mkdir(parents=True)
    (folder / "adapter.json").write_text(json.dumps({"base": "local:gemma-3-270m"}))
    with pytest.raises(ModelFileError, match="no GGUF LoRA"):
        resolve_model("lora:banking", settings=settings)


def test_adapter_resolves_to_base_with_lora(settings):
    folder = settings.home / "adapters" / "banking"
    folder.mkdir(parents=True)
    (folder / "adapter.json").write_text(json.dumps({"base": "local:gemma-3-270m", "gguf": "a.gguf"}))
    (folder / "a.gguf").write_bytes(b"GGUF")
    llm = resolve_model("lora:banking", settings=settings)
    assert llm.lora_path == str(folder / "a.gguf")
    assert llm.model_ref == "lora:banking"
    assert llm.metadata["plait_model_ref"] == "lora:banking"


def test_tracing_is_attached_only_when_enabled(settings):
    traced = resolve_model(settings=settings)
    assert any(isinstance(cb, SQLiteTracer) for cb in traced.callbacks)
    untraced = resolve_model(settings=Settings(tracing=False))
    assert not untraced.callbacks


def test_wrong_model_type_is_a_type_error(settings):
    with pytest.raises(TypeError, match="role name, a model reference or a LangChain chat model"):
        resolve_model(42, settings=settings)
