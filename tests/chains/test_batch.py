import pytest

from plait.chains import batch_classifier, label_set
from plait.chains.batch import auto_batch_size, parse_slots, slots_text
from plait.errors import EmptyInputError
from plait.testing import ScriptedChatModel

LABELS = ["shipping", "refund", "account"]


def test_slots_render_and_parse():
    assert slots_text(["a\nb", "c"]) == "1. a b\n2. c"
    text = "1. refund\n2) Shipping\n[3] nonsense\n4: account\n9. refund"
    assert parse_slots(text, 4, label_set(LABELS)) == {0: "refund", 1: "shipping", 3: "account"}


def test_results_come_back_in_input_order_with_shared_tokens():
    llm = ScriptedChatModel(replies=["2. refund\n1. shipping", "1. account"])
    # One chunk at a time: scripted replies go to calls in order, and parallel chunks raced for them.
    results = batch_classifier(LABELS, model=llm, batch_size=2).invoke(["late parcel", "money back", "login"],
                                                                      config={"max_concurrency": 1})
    assert [r.label for r in results] == ["shipping", "refund", "account"]
    assert [r.text for r in results] == ["late parcel", "money back", "login"]
    assert results[0].output_tokens == 2  # 4 words shared by 2 items
    assert "1. late parcel\n2. money back" in llm.calls[0][-1].content and len(llm.calls) == 2


def test_missing_and_invalid_slots_are_re_asked_alone():
    llm = ScriptedChatModel(replies=["1. refund\n2. banana", "account", "shipping"])
    results = batch_classifier(LABELS, model=llm, batch_size=3).invoke(["money back", "login", "late"])
    assert [r.label for r in results] == ["refund", "account", "shipping"]
    assert len(llm.calls) == 3
    assert llm.calls[1][-1].content == "Text: login"  # the single-item prompt
    assert results[1].output_tokens > results[0].output_tokens  # it paid for its re-ask


def test_bad_inputs():
    node = batch_classifier(LABELS, model=ScriptedChatModel(replies=[]))
    assert node.invoke([]) == []
    with pytest.raises(TypeError, match="list of inputs"):
        node.invoke("just one")
    with pytest.raises(EmptyInputError):
        node.invoke(["fine", ""])


def test_examples_are_shown_in_slot_format():
    llm = ScriptedChatModel(replies=["1. refund\n2. shipping"])
    batch_classifier(LABELS, model=llm, batch_size=2,
                     examples=[("parcel late", "shipping"), ("money", "refund")]).invoke(["a", "b"])
    assert [m.content for m in llm.calls[0][1:3]] == ["1. parcel late\n2. money", "1. shipping\n2. refund"]


def test_auto_batch_size_fits_the_context():
    class Small:
        n_ctx = 1000

    assert auto_batch_size(Small(), 500, 50) == 8
    assert auto_batch_size(Small(), 990, 50) == 1
    assert auto_batch_size(Small(), 0, 1) == 16
