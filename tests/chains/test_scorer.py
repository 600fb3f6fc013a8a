"""Evidence scorers: loading, training (resumable, calibrated out of fold) and use in RAG."""

import json

import numpy as np
import pytest

from plait.chains import rag
from plait.chains.scorer import load_scorer
from plait.chains.scorer_train import (ScorerOptions, best_similarities, calibrate, examples_for, fit, recalibrate,
                                       train_scorer)
from plait.errors import ModelFileError
from plait.retrieval import article_chunks, ingest, search, vector_store

DOCS = {
    "delivery.md": "# Delivery charges\n\n## UK prices\n\n| Service | Price |\n|---|---|\n"
                   "| Standard delivery | £3.95 |\n| Express delivery | £6.95 |\n| Saturday delivery | £9.95 |\n\n"
                   "Express and Saturday delivery are never free.\n",
    "refunds.md": "# Refunds\n\n## Timing\n\nRefunds reach your card within 5-7 working days. "
                  "Gift card refunds arrive within 24 hours.\n",
    "payments.md": "# Ways to pay\n\nWe accept Visa and Mastercard. We can't accept cheques or cryptocurrency.\n",
}
QUESTIONS = [  # (question, article, fact) — a few wordings per fact, then questions the documents don't answer
    *[(q, "delivery.md", "£6.95") for q in ("next day shipping price?", "what do you charge for express",
                                           "how much is quick delivery", "express cost pls")],
    *[(q, "delivery.md", "£9.95") for q in ("saturday delivery fee", "cost to get it on a saturday?")],
    *[(q, "delivery.md", "£3.95") for q in ("normal delivery how much", "standard shipping price")],
    *[(q, "refunds.md", "5-7 working days") for q in ("when do i get my money back", "refund to card how long",
                                                      "how many days for a refund on my visa")],
    *[(q, "refunds.md", "24 hours") for q in ("gift card refund how quick", "refund onto a gift card timing")],
    *[(q, "payments.md", "cryptocurrency") for q in ("can i pay in bitcoin", "crypto accepted?")],
    *[(q, "payments.md", "Visa and Mastercard") for q in ("which cards do you take", "visa ok?")],
    *[(q, None, None) for q in ("do you sell cars", "what's the weather in Paris", "who is your CEO",
                                "tell me a joke", "are you hiring", "capital of Peru?", "opening hours of the shop",
                                "how tall is everest")],
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scorer")
    for name, text in DOCS.items():
        (tmp / name).write_text(text)
    store = vector_store("scorer-docs", path=tmp / "chroma")
    ingest([tmp], store=store)
    return store


def items(group_by=2):
    return [{"question": q, "article": a, "facts": [f] if f else [], "out_of_scope": a is None, "_group": i % group_by}
            for i, (q, a, f) in enumerate(QUESTIONS)]


def test_a_missing_or_broken_scorer_folder_says_how_to_make_one(tmp_path):
    with pytest.raises(ModelFileError, match="scorer_train"):
        load_scorer(tmp_path / "nowhere")
    (tmp_path / "scorer.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="retrain"):
        load_scorer(tmp_path)


def test_calibration_refuses_the_share_of_out_of_scope_questions_asked():
    scored = [(0.2, True, False), (0.3, True, False), (0.45, True, False), (0.6, False, True), (0.4, False, False)]
    threshold, stats = calibrate(scored, refuse=0.95)
    assert 0.45 < threshold < 0.6 and stats["out_of_scope_refused"] == 1.0 and stats["in_scope_answered"] == 0.5
    with pytest.raises(ValueError, match="out_of_scope"):
        calibrate([(0.5, False, True)], refuse=0.9)


@pytest.mark.real
def test_article_chunks_brings_every_chunk_of_the_best_articles(store):
    hits = search("refund to card how long", store=store, k=1)
    siblings = article_chunks(hits, store=store)
    assert {h.source for h in siblings} == {hits[0].source} and all(h.score == 0.0 for h in siblings)


@pytest.mark.train
def test_training_writes_a_calibrated_scorer_that_rag_uses(store, tmp_path):
    options = ScorerOptions(epochs=1, batch_size=4)
    report = train_scorer(items(), store=store, out=tmp_path / "mine", options=options, info={"data": ["test"]},
                          keep_folds=True)
    saved = json.loads((tmp_path / "mine" / "scorer.json").read_text())
    assert saved["min_similarity"] == report.min_similarity and 0 < report.min_similarity < 1
    assert set(report.out_of_fold) == {"out_of_scope_refused", "in_scope_answered", "top1"}
    assert not any(p.name.startswith(".") for p in (tmp_path / "mine").iterdir())  # checkpoints removed
    answer = rag(store=store, scorer=tmp_path / "mine").invoke("express cost pls")
    assert answer.knew and "£6.95" in answer.answer
    # The kept calibration scorers measure the threshold again without training: the same one.
    (tmp_path / "mine" / "scorer.json").write_text(json.dumps({**saved, "min_similarity": 0.99}))
    assert recalibrate(items(), store=store, out=tmp_path / "mine") == report.min_similarity
    assert load_scorer(tmp_path / "mine").min_similarity == report.min_similarity


@pytest.mark.train
def test_calibration_searches_every_unit_of_the_collection_as_rag_does(store):
    from plait.chains.scorer_train import _fresh_model, collection_units

    examples = examples_for(items(), store=store)
    model = _fresh_model(rank=2)
    pool = collection_units(store)
    assert "Delivery charges — UK prices: Service: Express delivery; Price: £6.95" in pool
    alone, searched = best_similarities(model, examples), best_similarities(model, examples, pool=pool)
    assert all(b >= a - 1e-5 for (a, _, _), (b, _, _) in zip(alone, searched))
    # A unit outside the candidates that matches better is what RAG would find: it sets the best score.
    echo = best_similarities(model, examples[:1], pool=pool + [examples[0]["question"]])
    assert echo[0][0] > 0.99 and echo[0][2] is False


@pytest.mark.train
def test_an_interrupted_training_resumes_from_its_last_epoch(store, tmp_path):
    examples = examples_for(items(), store=store)
    options = ScorerOptions(epochs=1, batch_size=4)
    first = fit(examples, options, checkpoint=tmp_path)
    assert (tmp_path / "state.pt").is_file()
    again = fit(examples, options, checkpoint=tmp_path)  # finished epochs are loaded, not retrained
    a, b = (np.array([s for s, _, _ in best_similarities(m, examples)]) for m in (first, again))
    assert np.allclose(a, b, atol=1e-5)
    fresh = np.array([s for s, _, _ in best_similarities(fit(examples, ScorerOptions(epochs=1, batch_size=4, seed=1)),
                                                          examples)])
    assert not np.allclose(a, fresh, atol=1e-3)  # and the comparison above could have failed


@pytest.mark.train
def test_mining_keeps_the_wrong_candidates_the_model_ranks_highest(store):
    from plait.chains.scorer_train import _embed, _fresh_model, _mine

    examples = examples_for(items(), store=store)
    model = _fresh_model(rank=2)
    _mine(model, examples, keep=2)
    model.eval()  # _mine leaves it training (dropout on); compare without dropout, as it scored
    answerable = [ex for ex in examples if any(ex["labels"]) and not all(ex["labels"])]
    assert answerable
    for ex in answerable:
        wrong = [u for u, good in zip(ex["units"], ex["labels"]) if not good]
        assert 1 <= len(ex["hardest"]) <= 2 and set(ex["hardest"]) <= set(wrong)
        scores = (_embed(model, wrong) @ _embed(model, [ex["question"]]).T)[:, 0].tolist()
        ranked = [u for _, u in sorted(zip(scores, wrong), key=lambda pair: -pair[0])]
        assert ex["hardest"] == ranked[:len(ex["hardest"])]
