"""Item metrics, the classification report, LLM judges and metric lookup, against hand-computed values."""

from __future__ import annotations

import math

import pytest

from plait.errors import PlaitError
from plait.evaluate.metrics import (
    JUDGE, METRICS, Metric, Verdict, abs_error, aggregate, bleu, citation_validity, classification_report,
    context_recall, exact_match, grounding, judge, metric, metric_from, normalized_match, rouge_l,
)
from plait.evaluate.types import Case, Item
from plait.testing import ScriptedChatModel


def case(prediction, expected=None, *, output=None, metadata=None, inputs=None) -> Case:
    return Case(Item("1", inputs or {"text": "q"}, expected, metadata or {}), prediction, output or {})


SOURCES = [
    {"n": 1, "source": "kb/returns.md", "title": "Returns", "text": "Returns are free within 30 days."},
    {"n": 2, "source": "kb/shipping-costs.md", "title": "Shipping costs", "text": "Shipping is free over $50."},
]


# ---- classification report ------------------------------------------------------------------

def test_classification_report_matches_hand_computed_values():
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "b", None]
    report = classification_report(gold, pred)
    # "(none)" sorts before letters; rows are gold labels, columns predicted labels.
    assert report["labels"] == ["(none)", "a", "b", "c"]
    assert report["confusion"] == [
        [0, 0, 0, 0],  # (none): never a gold label
        [0, 2, 1, 0],  # a: 2 right, 1 predicted as b
        [0, 0, 2, 0],  # b: 2 right
        [1, 0, 0, 0],  # c: predicted nothing
    ]
    assert report["accuracy"] == pytest.approx(4 / 6)  # a, a, b, b right
    a, b, c = (report["per_label"][label] for label in "abc")
    # a: predicted twice, both right -> P = 2/2; 3 gold a's -> R = 2/3; F1 = 2*1*(2/3)/(5/3) = 0.8
    assert (a["precision"], a["recall"], a["f1"], a["support"]) == pytest.approx((1.0, 2 / 3, 0.8, 3))
    # b: predicted 3 times, 2 right -> P = 2/3; 2 gold b's both found -> R = 1; F1 = 0.8
    assert (b["precision"], b["recall"], b["f1"], b["support"]) == pytest.approx((2 / 3, 1.0, 0.8, 2))
    # c: never predicted -> P = 0.0 by convention, R = 0/1, F1 = 0
    assert (c["precision"], c["recall"], c["f1"], c["support"]) == (0.0, 0.0, 0.0, 1)
    # Macro over gold labels only: (0.8 + 0.8 + 0) / 3; counting "(none)" would give 1.6/4 = 0.4.
    assert report["macro_f1"] == pytest.approx(1.6 / 3)


def test_classification_report_values_are_plain_numbers_over_gold_labels():
    # a: tp=1 fp=1 fn=1 -> 0.5; b: 0.5; c: 1.0; "z" is only ever predicted, so no class of its own.
    report = classification_report(["a", "a", "b", "b", "c", "c"], ["a", "b", "a", "b", "c", "z"])
    assert report["macro_f1"] == pytest.approx((0.5 + 0.5 + 2 / 3) / 3)
    assert report["per_label"]["z"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert type(report["accuracy"]) is float and type(report["per_label"]["a"]["support"]) is int  # JSON-ready
    only = classification_report(["a", "a"], [None, None])
    assert (only["accuracy"], only["macro_f1"], only["confusion"]) == (0.0, 0.0, [[0, 0], [2, 0]])


def test_classification_report_rejects_empty_and_mismatched_input():
    with pytest.raises(ValueError, match="at least one"):
        classification_report([], [])
    with pytest.raises(ValueError, match="one prediction per gold label"):
        classification_report(["a", "b"], ["a"])


# ---- text and number metrics ------------------------------------------------------------------

def test_exact_and_normalized_match():
    assert exact_match.score(case("cat", "cat")) == 1.0
    assert exact_match.score(case("The  Cat!", "cat")) == 0.0
    assert normalized_match.score(case("The  Cat!", "cat")) == 1.0
    assert normalized_match.score(case("An apple, please.", "apple   please")) == 1.0
    assert normalized_match.score(case("the cat", "a dog")) == 0.0
    assert exact_match.score(case("color", ["colour", "color"])) == 1.0  # any of several references
    assert exact_match.score(case(None, "None")) == 0.0  # a failed target is wrong, not the text "None"
    assert exact_match.score(case("cat", None)) is None
    assert normalized_match.score(case("cat", None)) is None


def test_mae_reads_numbers_in_text_and_skips_predictions_without_one():
    assert METRICS["mae"] is abs_error and not abs_error.higher_is_better
    assert abs_error.score(case("about 42.5 units", 40)) == pytest.approx(2.5)  # |42.5 - 40|
    assert abs_error.score(case("1,200", "1000")) == pytest.approx(200.0)  # |1200 - 1000|
    assert abs_error.score(case("roughly 1,200.5 kg", "1200")) == pytest.approx(0.5)
    assert abs_error.score(case(7, "10")) == 3.0
    assert abs_error.score(case("-3", 2)) == 5.0  # |-3 - 2|
    assert abs_error.score(case("no idea", 10)) is None
    assert abs_error.score(case("12", None)) is None


def test_bleu_identical_disjoint_and_hand_computed_partial():
    assert bleu.score(case("the cat sat on the mat", "the cat sat on the mat")) == pytest.approx(1.0)
    assert bleu.score(case("dog runs fast", "the cat sat on the mat")) == 0.0
    # hyp "the cat sat on a mat" (6 tokens), ref "the cat sat on the mat today" (7 tokens):
    #   1-grams: the cat sat on mat match, "a" not     -> 5/6
    #   2-grams: the-cat cat-sat sat-on match of 5     -> 3/5
    #   3-grams: the-cat-sat cat-sat-on match of 4     -> 2/4
    #   4-grams: the-cat-sat-on matches of 3           -> 1/3
    #   geometric mean = (5/6 * 3/5 * 2/4 * 1/3) ** (1/4) = (1/12) ** 0.25 = 0.53729
    #   brevity penalty: hyp shorter than ref -> exp(1 - 7/6) = 0.84648
    expected = math.exp(1 - 7 / 6) * (1 / 12) ** 0.25  # = 0.45480
    assert bleu.score(case("the cat sat on a mat", "the cat sat on the mat today")) == pytest.approx(expected)
    # With several references, matching one of them exactly is a perfect score.
    assert bleu.score(case("the cat sat on a mat", ["a dog", "the cat sat on a mat"])) == pytest.approx(1.0)
    assert bleu.score(case("anything", None)) is None


def test_rouge_l_is_the_lcs_f_measure():
    # pred "the cat sat" (3 tokens), ref "the black cat sat down" (5 tokens): LCS = the cat sat = 3
    # P = 3/3, R = 3/5, F = 2 * 1 * 0.6 / 1.6 = 0.75
    assert rouge_l.score(case("the cat sat", "the black cat sat down")) == pytest.approx(0.75)
    # pred "the cat sat on a mat", ref "the cat was on the mat": LCS = the cat on mat = 4 -> P = R = F = 4/6
    assert rouge_l.score(case("the cat sat on a mat", "the cat was on the mat")) == pytest.approx(4 / 6)
    assert rouge_l.score(case("x y", ["the cat", "x y"])) == pytest.approx(1.0)  # best reference
    assert rouge_l.score(case("x", None)) is None


# ---- RAG metrics --------------------------------------------------------------------------------

def test_context_recall_compares_file_names():
    out = {"answer": "...", "sources": SOURCES}
    assert context_recall.score(case("", output=out, metadata={"source": "shipping-costs.md"})) == 1.0
    assert context_recall.score(case("", output=out, metadata={"article": "shipping-costs"})) == 1.0  # stem
    # One of two expected articles retrieved -> 1/2.
    assert context_recall.score(case("", output=out, metadata={"source": ["shipping-costs.md", "faq.md"]})) == 0.5
    # Whole path components only: "costs.md" is not "shipping-costs.md".
    assert context_recall.score(case("", output=out, metadata={"source": "costs.md"})) == 0.0
    assert context_recall.score(case("", output={"sources": []}, metadata={"source": "returns.md"})) == 0.0
    assert context_recall.score(case("", output=out)) is None


def test_citation_validity():
    def valid(answer, sources=SOURCES):
        return citation_validity.score(case(answer, output={"answer": answer, "sources": sources}))

    assert valid("Free over $50 [2], returns free [1].") == 1.0
    assert valid("Both apply [1, 2].") == 1.0
    assert valid("Free over $50 [3].") == 0.0  # only 2 sources
    assert valid("Free over $50 [0].") == 0.0
    assert valid("Free over $50 [2][3].") == 0.0  # one bad citation spoils it
    assert valid("Free over $50.") == 0.0  # cites nothing
    assert valid("I don't know.", sources=[]) is None


# ---- LLM judges -----------------------------------------------------------------------------------

def test_judge_scales_the_verdict_and_shows_the_rubric_to_the_model():
    llm = ScriptedChatModel(replies=[Verdict(reasoning="mostly right", score=4),
                                     {"reasoning": "wrong", "score": 1}])
    polite = judge("Is the reply polite?", model=llm, name="polite")
    assert polite.name == "polite"
    assert polite.score(case("Thanks for asking!", "A polite reply", inputs={"text": "hello?"})) == 0.75  # (4-1)/4
    sent = "\n".join(str(m.content) for m in llm.calls[0])
    for part in ("Is the reply polite?", "hello?", "A polite reply", "Thanks for asking!"):
        assert part in sent
    assert polite.score(case("Go away", "A polite reply")) == 0.0  # (1-1)/4
    assert sorted(JUDGE.template.input_variables) == ["expected", "input", "output", "rubric"]


def test_judge_retries_once_then_skips_the_item():
    llm = ScriptedChatModel(replies=["not json", "still {not json"])
    assert judge("Correct?", model=llm).score(case("x", "y")) is None
    assert llm.remaining == 0 and len(llm.calls) == 2  # one retry, no third call
    llm = ScriptedChatModel(replies=["garbage", Verdict(reasoning="fine", score=5)])
    assert judge("Correct?", model=llm).score(case("x", "y")) == 1.0
    llm = ScriptedChatModel(replies=[{"reasoning": "out of range", "score": 9}] * 2)
    assert judge("Correct?", model=llm).score(case("x", "y")) is None


def test_grounding_shows_the_sources_and_skips_answers_without_sources():
    llm = ScriptedChatModel(replies=[Verdict(reasoning="supported", score=3)])
    grounded = grounding(model=llm)
    answer = "Shipping is free over $50 [2]."
    assert grounded.score(case(answer, output={"answer": answer, "sources": SOURCES})) == 0.5  # (3-1)/4
    sent = "\n".join(str(m.content) for m in llm.calls[0])
    assert "[2] Shipping costs\nShipping is free over $50." in sent and answer in sent
    assert "supported by the numbered sources" in sent
    assert grounded.score(case("I don't know.", output={"answer": "I don't know.", "sources": []})) is None
    assert len(llm.calls) == 1  # the skipped item never reached the model


# ---- user metrics and lookup -------------------------------------------------------------------

def test_plain_functions_become_metrics():
    @metric
    def contains(prediction, expected):
        """Expected text appears in the prediction."""
        return expected in prediction

    @metric(name="length", higher_is_better=False)
    def answer_length(case, scale=1):
        return None if case.prediction is None else len(case.prediction) * scale

    assert isinstance(contains, Metric) and contains.name == "contains"
    assert contains.description == "Expected text appears in the prediction."
    assert contains.score(case("the cat sat", "cat")) == 1.0
    assert contains.score(case("the dog sat", "cat")) == 0.0
    assert (answer_length.name, answer_length.higher_is_better) == ("length", False)
    assert answer_length.score(case("abcd")) == 4.0
    assert answer_length.score(case(None)) is None
    with pytest.raises(TypeError, match=r"fn\(case\) or fn\(prediction, expected\)"):
        metric(lambda a, b, c: 1.0)


def test_aggregate_is_the_mean_of_scored_items():
    assert aggregate(exact_match, [1.0, None, 0.0, 0.5]) == 0.5  # (1 + 0 + 0.5) / 3
    assert aggregate(exact_match, [None, None]) is None


def test_metric_from_names_metrics_and_functions():
    assert set(METRICS) == {"exact_match", "normalized_match", "mae", "bleu", "rouge_l", "context_recall",
                            "citation_validity"}
    assert metric_from("bleu") is bleu
    assert metric_from(exact_match) is exact_match
    assert metric_from(lambda p, e: p == e).score(case("a", "a")) == 1.0
    with pytest.raises(TypeError):
        METRICS["mine"] = exact_match  # type: ignore[index]
    with pytest.raises(PlaitError) as err:
        metric_from("acuracy")
    for part in ("'acuracy'", "exact_match", "mae", "citation_validity", "judge", "grounding", "module:function"):
        assert part in str(err.value)


def test_metric_from_imports_module_function(tmp_path, monkeypatch):
    (tmp_path / "plait_test_user_metrics.py").write_text(
        "def shouted(prediction, expected):\n"
        "    return prediction == expected.upper()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    shouted = metric_from("plait_test_user_metrics:shouted")
    assert shouted.name == "shouted"
    assert shouted.score(case("CAT", "cat")) == 1.0
    assert shouted.score(case("cat", "cat")) == 0.0
    with pytest.raises(PlaitError, match="defines 'missing'"):
        metric_from("plait_test_user_metrics:missing")
    with pytest.raises(PlaitError, match="importable"):
        metric_from("no_such_module_xyz:fn")
