"""Chains on the real packaged model: valid outputs, confidences, and sensible answers."""

import pytest

from plait.chains import batch_classifier, classifier
from plait.config import Settings
from plait.models import resolve_model
from plait.tracing import TraceStore

pytestmark = pytest.mark.real

LABELS = ["shipping", "refund", "account", "other"]
POOL = [
    ("Where is my parcel? It was due on Monday.", "shipping"),
    ("My delivery is late, when will it ship?", "shipping"),
    ("The kettle arrived broken, I'd like my money back.", "refund"),
    ("Please refund my order, I was charged twice.", "refund"),
    ("I can't log in, the reset link has expired.", "account"),
    ("How do I update the email on my account?", "account"),
    ("Do you have gift cards?", "other"),
    ("Are you open on Sundays?", "other"),
]


@pytest.fixture(scope="module")
def llm():
    return resolve_model(settings=Settings(tracing=False))


def test_classifier_on_the_local_model_gives_valid_labels_with_confidence(llm):
    node = classifier(LABELS, model=llm, examples=POOL, k=2)
    results = [node.invoke(t) for t in ("My parcel still hasn't arrived", "I want a refund for the broken lamp",
                                        "I forgot my account password")]
    assert [r.label for r in results] == ["shipping", "refund", "account"]
    for r in results:
        assert 0 < r.confidence <= 1
        assert r.input_tokens > 50 and r.output_tokens >= 1


def test_two_level_labels_on_the_local_model(llm):
    labels = {"orders": ["shipping", "refund"], "profile": ["account"], "misc": ["other"]}
    pool = [(t, {"shipping": "orders/shipping", "refund": "orders/refund", "account": "profile/account",
                 "other": "misc/other"}[label]) for t, label in POOL]
    node = classifier(labels, model=llm, examples=pool, k=2)
    parcel, login = node.invoke("My parcel is late, where is it?"), node.invoke("I can't log in to my account")
    assert parcel.label in node_labels(labels) and parcel.primary == "orders"
    assert (login.primary, login.secondary) == ("profile", "account")


def node_labels(labels):
    return {f"{p}/{s}" for p, subs in labels.items() for s in subs}


def test_batch_classifier_on_the_local_model(llm):
    texts = ["My parcel still hasn't arrived", "I want a refund for the broken lamp",
             "I forgot my account password", "Do you sell vouchers?"]
    results = batch_classifier(LABELS, model=llm, examples=POOL, k=4, batch_size=4).invoke(texts)
    assert [r.text for r in results] == texts
    assert all(r.label in LABELS for r in results)
    assert sum(r.label == expected for r, expected in zip(results, ["shipping", "refund", "account", "other"])) >= 3


def test_classification_calls_are_traced_as_the_node(settings):
    node = classifier(LABELS, model=resolve_model(settings=settings), examples=POOL[:4])
    node.invoke("Where is my order?")
    [row] = TraceStore(settings.trace_db).list()
    assert row["node"] == "classify" and row["prompt"].startswith("classify@")
    assert row["output"] in LABELS


def test_chain_of_thought_on_the_local_model_always_gives_typed_fields(llm):
    from plait.chains import chain_of_thought

    solve = chain_of_thought(model=llm, answer_type=int, max_tokens=160)
    questions = ["Sam has 4 bags with 5 apples each. How many apples?", "What is 9 plus 6?",
                 "A book costs $7. How much do 3 books cost?"]
    thoughts = [solve.invoke(q) for q in questions]
    for thought in thoughts:
        assert isinstance(thought.answer, int)
        assert thought.reasoning.strip()
    assert thoughts[1].answer == 15


def test_self_consistency_on_the_local_model(llm):
    from plait.chains import chain_of_thought

    thought = chain_of_thought(model=llm, answer_type=int, samples=3, max_tokens=120).invoke("What is 9 plus 6?")
    assert sum(thought.votes.values()) == 3
    assert str(thought.answer) in thought.votes


def test_moderation_judge_on_the_local_model(llm):
    from plait.chains import moderator

    check = moderator(rules=False, classifier=False, judge=llm)
    assert check.invoke("Where is my parcel?").decision in {"allow", "flag", "block"}


def test_batch_chain_of_thought_on_the_local_model(llm):
    from plait.chains import batch_chain_of_thought

    questions = ["What is 9 plus 6?", "What is 2 times 4?", "What is 10 minus 3?"]
    thoughts = batch_chain_of_thought(model=llm, answer_type=int, batch_size=3).invoke(questions)
    assert [t.question for t in thoughts] == questions
    assert all(isinstance(t.answer, int) and t.reasoning for t in thoughts)
