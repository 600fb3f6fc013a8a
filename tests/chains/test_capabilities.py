"""Nodes choose their decoding by the model's reported capabilities, with the same options as ever."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import PrivateAttr

from plait.chains import batch_chain_of_thought, batch_classifier, chain_of_thought, classifier, nl_to_sql
from plait.chains.inputs import text_field
from plait.errors import EmptyInputError
from plait.models import Capabilities
from plait.testing import ScriptedChatModel
from plait.tools import shop_database


class Recording(ScriptedChatModel):
    """A scripted model that records each call's generation options and reports ``reports``."""

    reports: Capabilities = Capabilities()
    _options: list[dict[str, Any]] = PrivateAttr(default_factory=list)

    def plait_capabilities(self) -> Capabilities:
        return self.reports

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self._options.append({**kwargs, **({"stop": stop} if stop else {})})
        return super()._generate(messages, stop, run_manager)


GRAMMAR = object()  # stands for "a grammar is there", whatever its text


def _seen(llm: Recording) -> list[dict[str, Any]]:
    return [{k: GRAMMAR if k == "grammar" else v for k, v in o.items()} for o in llm._options]


CONSTRAINED = Capabilities(constrained=True)


def test_a_constrained_model_classifies_over_the_labels():
    llm = Recording(replies=["b"], reports=CONSTRAINED)
    assert classifier(["a", "b"], model=llm).invoke("text").label == "b"
    assert _seen(llm) == [{"choices": ["a", "b"]}]
    plain = Recording(replies=["b"])
    classifier(["a", "b"], model=plain).invoke("text")
    assert _seen(plain) == [{}]


def test_a_constrained_model_fills_batch_slots():
    llm = Recording(replies=["1. a\n2. b"], reports=CONSTRAINED)
    assert [c.label for c in batch_classifier(["a", "b"], model=llm, batch_size=2).invoke(["x", "y"])] == ["a", "b"]
    assert _seen(llm) == [{"choices": ["a", "b"], "slots": 2}]


def test_a_logprobs_model_is_asked_for_them():
    llm = Recording(replies=["a"], reports=Capabilities(logprobs=True))
    classifier(["a", "b"], model=llm).invoke("text")
    assert _seen(llm) == [{"logprobs": True}]


def test_an_embedding_head_is_never_prompted():
    class Head(Recording):
        def classify_texts(self, texts):
            return [("b", 0.9) for _ in texts]

    head = Head(replies=[], reports=Capabilities(classifies_text=True))
    assert classifier(["a", "b"], model=head).invoke("text").confidence == 0.9
    assert [c.label for c in batch_classifier(["a", "b"], model=head).invoke(["x", "y"])] == ["b", "b"]
    assert head.calls == []


def test_chain_of_thought_settings_on_constrained_and_other_models():
    llm = Recording(replies=["r\nAnswer: 4"] * 2, reports=CONSTRAINED)
    chain_of_thought(model=llm, answer_type=int, samples=2, temperature=0.5, max_tokens=99).invoke("2+2?")
    assert _seen(llm) == [{"stop": ["\nQuestion:"], "temperature": 0.5, "repeat_penalty": 1.1, "max_tokens": 99,
                           "seed": seed, "grammar": GRAMMAR} for seed in (0, 1)]
    plain = Recording(replies=["r\nAnswer: 4"])
    chain_of_thought(model=plain, answer_type=int).invoke("2+2?")
    assert _seen(plain) == [{"stop": ["\nQuestion:"]}]


def test_batch_chain_of_thought_budget_grows_with_the_batch():
    llm = Recording(replies=["1. r Answer: 2\n2. r Answer: 4"], reports=CONSTRAINED)
    batch_chain_of_thought(model=llm, answer_type=int, batch_size=2, max_tokens_per_item=50).invoke(["1+1?", "2+2?"])
    assert _seen(llm) == [{"stop": ["\nQuestion:"], "repeat_penalty": 1.1, "max_tokens": 100, "grammar": GRAMMAR}]


def test_sql_grammar_only_on_constrained_models(tmp_path):
    db = shop_database(tmp_path / "shop.db")
    llm = Recording(replies=["SELECT id FROM orders"], reports=CONSTRAINED)
    nl_to_sql(db, model=llm).invoke({"question": "Which orders?"})
    assert _seen(llm) == [{"stop": ["\n"], "max_tokens": 120, "grammar": GRAMMAR}]
    plain = Recording(replies=["SELECT id FROM orders"])
    nl_to_sql(db, model=plain).invoke("Which orders?")
    assert _seen(plain) == [{"stop": ["\n"]}]


def test_text_field_reads_strings_and_mappings_and_refuses_blank_text():
    assert text_field("hi", "question", empty="e") == "hi"
    assert text_field({"question": "hi"}, "question", empty="e") == "hi"
    for value in (" ", {"text": "hi"}, None, 42):
        with pytest.raises(EmptyInputError, match="^e$"):
            text_field(value, "question", empty="e")
    with pytest.raises(TypeError, match="not text"):
        text_field(42, "text", empty="e", wrong_type="not text")
