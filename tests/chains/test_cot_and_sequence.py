from operator import itemgetter
from typing import Literal

import pytest

from plait.chains import chain_of_thought, classifier, extract_answer, llm_step, step
from plait.errors import EmptyInputError, OutputParseError
from plait.prompts import prompt
from plait.testing import ScriptedChatModel


@pytest.mark.parametrize("text, answer_type, expected", [
    ("4 x 2 = 8.\nAnswer: 8", int, ("4 x 2 = 8.", 8)),
    ("Adding gives 1,250.\n**Answer:** $1,250.", int, ("Adding gives 1,250.", 1250)),
    ("So the answer is 3.5 metres", float, ("So", 3.5)),
    ("Some thinking.\n#### 42", int, ("Some thinking.", 42)),
    ("We get \\boxed{7}", int, ("We get", 7)),
    ("First 2+2=4. Answer: four? no. Answer: 4", int, ("First 2+2=4. Answer: four? no.", 4)),
    ("It arrives at\n10:30", str, ("It arrives at", "10:30")),
    ("Answer: Paris\nAnswer: Lyon", str, ("Answer: Paris", "Lyon")),
])
def test_answer_extraction_survives_messy_text(text, answer_type, expected):
    assert extract_answer(text, answer_type) == expected


def test_extraction_failure_carries_the_text():
    with pytest.raises(OutputParseError, match="No int answer") as info:
        extract_answer("I am not sure at all.", int)
    assert info.value.output == "I am not sure at all."


def test_cot_returns_separate_typed_fields_and_shows_examples():
    llm = ScriptedChatModel(replies=["3 boxes of 4 is 12, minus 2 is 10.\nAnswer: 10"])
    thought = chain_of_thought(model=llm, answer_type=int).invoke("3 boxes of 4 eggs, eat 2?")
    assert thought.answer == 10 and thought.reasoning == "3 boxes of 4 is 12, minus 2 is 10."
    assert thought.votes is None and thought.output_tokens > 0
    sent = [m.content for m in llm.calls[0]]
    assert sent[1].startswith("Question: A shop sells pens") and sent[2].endswith("Answer: 8")
    assert sent[-1] == "Question: 3 boxes of 4 eggs, eat 2?"


def test_self_consistency_takes_the_majority_and_drops_unreadable_samples():
    llm = ScriptedChatModel(replies=["a\nAnswer: 10", "b\nAnswer: 12", "c\nAnswer: 10", "no idea", "d\nAnswer: 12"])
    thought = chain_of_thought(model=llm, answer_type=int, samples=5).invoke({"question": "q"})
    assert thought.answer == 10 and thought.votes == {"10": 2, "12": 2}
    assert thought.reasoning == "a"
    assert len(llm.calls) == 5


def test_cot_failures():
    with pytest.raises(OutputParseError, match="None of 2 sample"):
        chain_of_thought(model=ScriptedChatModel(replies=["hmm", "hmm"]), answer_type=int, samples=2).invoke("q")
    with pytest.raises(EmptyInputError):
        chain_of_thought(model=ScriptedChatModel(replies=[])).invoke(" ")
    with pytest.raises(ValueError, match="answer_type"):
        chain_of_thought(model=ScriptedChatModel(replies=[]), answer_type=list)


def test_prompt_chaining_passes_typed_outputs_between_roles():
    classify_llm = ScriptedChatModel(replies=["shipping"])
    reply_llm = ScriptedChatModel(replies=["Sorry, it ships tomorrow."])
    urgency_llm = ScriptedChatModel(replies=["high"])
    policies = {"shipping": "Parcels ship within 2 days.", "refund": "Refunds take 5 days."}
    reply = prompt("reply", [("system", "Policy: {policy}"), ("human", "{message}")])
    urgency = prompt("urgency", [("human", "How urgent is: {message}")])
    pipeline = (
        step("category", itemgetter("message") | classifier(["refund", "shipping"], model=classify_llm))
        | step("policy", lambda s: policies[s["category"].label])
        | llm_step("urgency", urgency, model=urgency_llm, output=Literal["low", "high"])
        | llm_step("reply", reply, model=reply_llm)
    )
    state = pipeline.invoke({"message": "Where is my parcel?"})
    assert state["category"].label == "shipping"
    assert state["urgency"] == "high"
    assert state["reply"] == "Sorry, it ships tomorrow."
    assert reply_llm.calls[0][0].content == "Policy: Parcels ship within 2 days."


def test_batch_cot_splits_slots_and_re_asks_unreadable_ones():
    from plait.chains import batch_chain_of_thought

    llm = ScriptedChatModel(replies=["1. 2 and 2 make 4. Answer: 4\n2. no idea\n3. 3 times 3. Answer: 9",
                                     "Five plus one.\nAnswer: 6"])
    thoughts = batch_chain_of_thought(model=llm, answer_type=int, batch_size=3).invoke(["2+2?", "5+1?", "3*3?"])
    assert [t.answer for t in thoughts] == [4, 6, 9]
    assert thoughts[0].reasoning == "2 and 2 make 4."
    assert [m.content for m in llm.calls[0][-1:]] == ["1. 2+2?\n2. 5+1?\n3. 3*3?"]
    assert llm.calls[1][-1].content == "Question: 5+1?"  # the lone re-ask uses the single-question prompt
    assert thoughts[1].output_tokens > thoughts[0].output_tokens


def test_batch_cot_rejects_empty_questions():
    from plait.chains import batch_chain_of_thought

    with pytest.raises(EmptyInputError):
        batch_chain_of_thought(model=ScriptedChatModel(replies=[])).invoke(["ok", " "])
