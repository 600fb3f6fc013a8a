from enum import Enum

import pytest
from langchain_core.messages import HumanMessage

from plait.chains import classifier, label_set, match_label
from plait.chains.examples import SimilarExamples
from plait.errors import EmptyInputError, OutputParseError
from plait.testing import ScriptedChatModel

LABELS = ["shipping", "refund", "account"]
TWO_LEVEL = {"billing": ["refund", "invoice"], "delivery": ["late", "lost"]}


class Mood(Enum):
    HAPPY = "happy"
    SAD = "sad"


def test_label_set_forms():
    assert label_set(LABELS).names == tuple(LABELS)
    assert label_set(Mood).names == ("happy", "sad")
    two = label_set(TWO_LEVEL)
    assert two.names == ("billing/refund", "billing/invoice", "delivery/late", "delivery/lost")
    assert two.split("delivery/lost") == ("delivery", "lost")
    assert two.describe().splitlines()[0] == "billing/refund, billing/invoice"


@pytest.mark.parametrize("labels, message", [
    (["only"], "at least two"),
    (["a", "a", "b"], "Duplicate labels"),
    ("a,b", "did you mean"),
    ({"billing": []}, "needs a list of secondary labels"),
])
def test_bad_label_sets(labels, message):
    with pytest.raises(ValueError, match=message):
        label_set(labels)


@pytest.mark.parametrize("text, expected", [
    ("refund", "refund"),
    ("  Refund.\n", "refund"),
    ('Label: "SHIPPING"', "shipping"),
    ("I think this is about the account.", "account"),
    ("refund or shipping", None),
    ("banana", None),
    ("", None),
])
def test_match_label_tolerates_messy_output(text, expected):
    assert match_label(text, label_set(LABELS)) == expected


def test_match_label_two_level_accepts_unique_secondary():
    labels = label_set(TWO_LEVEL)
    assert match_label("billing / refund", labels) == "billing/refund"
    assert match_label("late", labels) == "delivery/late"


def test_classifier_parses_text_output_and_counts_tokens():
    llm = ScriptedChatModel(replies=["Label: Refund."])
    result = classifier(LABELS, model=llm).invoke("I want my money back")
    assert result.label == "refund" and result.text == "I want my money back"
    assert result.confidence is None
    assert result.input_tokens > 0 and result.output_tokens == 2


def test_wrong_label_is_re_asked_once_with_the_valid_labels():
    llm = ScriptedChatModel(replies=["banana", "shipping"])
    result = classifier(LABELS, model=llm).invoke({"text": "where is my parcel"})
    assert result.label == "shipping"
    correction = llm.calls[1][-1]
    assert isinstance(correction, HumanMessage)
    assert "'banana' is not one of the labels" in correction.content and "shipping, refund, account" in correction.content
    assert result.output_tokens == 2  # both answers are paid for


def test_persistently_wrong_labels_raise_with_the_output():
    llm = ScriptedChatModel(replies=["banana", "apple"])
    with pytest.raises(OutputParseError, match="matches none of 3 labels, 2 times") as info:
        classifier(LABELS, model=llm).invoke("x")
    assert info.value.output == "apple"


def test_empty_input_is_refused_before_any_model_call():
    llm = ScriptedChatModel(replies=[])
    with pytest.raises(EmptyInputError, match="empty text"):
        classifier(LABELS, model=llm).invoke("   ")
    with pytest.raises(TypeError, match="string or"):
        classifier(LABELS, model=llm).invoke(42)
    assert llm.calls == []


def test_fixed_examples_are_shown_as_turns():
    llm = ScriptedChatModel(replies=["refund"])
    classifier(LABELS, model=llm, examples=[("parcel late", "shipping"), {"text": "money back", "label": "refund"}]
               ).invoke("charged twice")
    contents = [m.content for m in llm.calls[0]]
    assert contents[1:] == ["Text: parcel late", "shipping", "Text: money back", "refund", "Text: charged twice"]
    assert "shipping, refund, account" in contents[0]


def test_two_level_result_fields():
    llm = ScriptedChatModel(replies=["delivery/lost"])
    result = classifier(TWO_LEVEL, model=llm).invoke("never arrived")
    assert (result.label, result.primary, result.secondary) == ("delivery/lost", "delivery", "lost")


@pytest.mark.parametrize("kwargs, message", [
    ({"examples": [("x", "weather")]}, "not in the label set"),
    ({"k": 3}, "pass examples"),
    ({"examples": [("", "refund")]}, "non-empty text"),
])
def test_bad_classifier_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        classifier(LABELS, model=ScriptedChatModel(replies=[]), **kwargs)


POOL = [("my card has not arrived yet", "card"), ("please refund my purchase", "refund"),
        ("the app crashes on login", "app"), ("when will my new card be delivered", "card")]


@pytest.mark.real
def test_similar_examples_put_the_nearest_last():
    picked = SimilarExamples(POOL, k=2).select("my card still hasn't come")
    assert {label for _, label in picked} == {"card"}
    assert picked[-1][0] == "my card has not arrived yet"


@pytest.mark.real
def test_similarity_selection_feeds_the_prompt():
    llm = ScriptedChatModel(replies=["refund"])
    classifier(["card", "refund", "app"], model=llm, examples=POOL, k=1).invoke("I'd like my money back")
    assert llm.calls[0][1].content == "Text: please refund my purchase"
