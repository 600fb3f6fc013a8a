"""ModelSettings (merge, options) and capabilities() across the kinds of chat model plait meets."""

from __future__ import annotations

import dataclasses
from typing import Literal

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableBinding, RunnableSequence
from langchain_openai import ChatOpenAI

from plait.models import Capabilities, LlamaCppChat, ModelSettings, capabilities
from plait.models.llamacpp import STRUCTURED_MIN_TOKENS, STRUCTURED_REPEAT_PENALTY
from plait.models.settings import FREE_TEXT, PROTOCOL_MIN_TOKENS, SHORT_REPLY
from plait.testing import ScriptedChatModel


def _llama(**options) -> LlamaCppChat:
    return LlamaCppChat(model_path="unused.gguf", model_ref="local:test", **options)  # never loaded here


class _Plain(BaseChatModel):
    """A chat model that overrides nothing optional."""

    @property
    def _llm_type(self) -> str:
        return "plain"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage("ok"))])


class _OpenAILike(_Plain):
    """An OpenAI-style backend: a logprobs field and native tool calling."""

    logprobs: bool | None = None

    def bind_tools(self, tools, **kwargs):
        return self.bind(tools=list(tools))


class _DuckHead(_Plain):
    """A user's own classifier that labels texts but reports nothing."""

    def classify_texts(self, texts):
        return [("a", 1.0) for _ in texts]


# ---- ModelSettings -------------------------------------------------------------------------------

def test_a_later_value_wins_and_none_leaves_the_earlier_one():
    base = ModelSettings(temperature=0.7, max_tokens=60, stop=("\n",))
    merged = base.merged_with(ModelSettings(max_tokens=80, seed=3))
    assert merged == ModelSettings(temperature=0.7, max_tokens=80, seed=3, stop=("\n",))
    assert base.max_tokens == 60  # merging copies; nothing changes in place
    assert base.merged_with(None) is base and base.merged_with(ModelSettings()) == base


def test_settings_are_frozen_and_hashable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SHORT_REPLY.max_tokens = 10  # type: ignore[misc]
    assert len({FREE_TEXT, ModelSettings(repeat_penalty=1.1)}) == 1


def test_options_hold_only_set_values_with_stop_as_a_list():
    assert ModelSettings().options() == {}
    assert ModelSettings(max_tokens=60, stop=("\n", "\n\n"), seed=0).options() == {
        "max_tokens": 60, "stop": ["\n", "\n\n"], "seed": 0}  # 0 is a value, not "unset"


def test_options_go_to_a_models_constructor_and_bind():
    llm = _llama(**SHORT_REPLY.merged_with(FREE_TEXT).options())
    assert (llm.max_tokens, llm.repeat_penalty) == (60, 1.1)
    bound = _llama().bind(**ModelSettings(temperature=0.5, stop=("x",)).options())
    assert bound.kwargs == {"temperature": 0.5, "stop": ["x"]}


def test_named_defaults_keep_the_numbers_nodes_used():
    assert FREE_TEXT.options() == {"repeat_penalty": 1.1}
    assert SHORT_REPLY.options() == {"max_tokens": 60}
    assert PROTOCOL_MIN_TOKENS == 512


# ---- capabilities() ------------------------------------------------------------------------------

def test_llamacpp_reports_constrained_in_process_decoding():
    expected = Capabilities(constrained=True, in_process=True, lora_adapters=True)
    assert capabilities(_llama()) == expected
    assert capabilities(_llama().bind(stop=["\n"]).bind(max_tokens=5)) == expected  # bound options keep them


def test_the_scripted_model_calls_tools_natively_and_nothing_else():
    assert capabilities(ScriptedChatModel(replies=[])) == Capabilities(native_tools=True)


def test_chat_openai_has_native_tools_and_logprobs():
    assert capabilities(ChatOpenAI(model="gpt-4o-mini", api_key="sk-test")) == Capabilities(
        native_tools=True, logprobs=True)
    assert capabilities(_OpenAILike()) == Capabilities(native_tools=True, logprobs=True)


def test_an_embedding_head_classifies_texts_itself():
    from plait.finetune.head import HeadChat  # an upper layer's model, reporting its own capabilities

    assert capabilities(HeadChat(folder="unused", model_ref="lora:head")) == Capabilities(classifies_text=True)
    assert capabilities(_DuckHead()) == Capabilities(classifies_text=True)


def test_a_plain_chat_model_has_no_capabilities():
    assert capabilities(_Plain()) == Capabilities()


# ---- the llama.cpp model's structured output, with settings overlaid ----------------------------

def test_constrained_output_binds_the_structured_defaults():
    choice = _llama().constrained_output(Literal["yes", "no"])
    assert isinstance(choice, RunnableBinding)
    assert choice.kwargs["grammar"] == 'root ::= " "? ("yes" | "no")'
    assert choice.kwargs["max_tokens"] == STRUCTURED_MIN_TOKENS and "repeat_penalty" not in choice.kwargs
    json_reply = _llama().constrained_output({"type": "object"})
    assert isinstance(json_reply, RunnableSequence)  # the schema hint, then the model
    assert json_reply.last.kwargs["repeat_penalty"] == STRUCTURED_REPEAT_PENALTY
    assert "repeat_penalty" not in _llama(repeat_penalty=1.3).constrained_output({"type": "object"}).last.kwargs


def test_constrained_output_settings_win_over_the_defaults():
    bound = _llama().constrained_output({"type": "object"}, schema_hint=False,
                                        settings=FREE_TEXT.merged_with(ModelSettings(max_tokens=40, stop=("\n",))))
    assert isinstance(bound, RunnableBinding)
    assert {k: bound.kwargs[k] for k in ("max_tokens", "repeat_penalty", "stop")} == {
        "max_tokens": 40, "repeat_penalty": 1.1, "stop": ["\n"]}
