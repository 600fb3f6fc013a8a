"""Embedding-head adapters on the real packaged MiniLM: training, storing, resolving, classifying."""

from __future__ import annotations

import json

import pytest

from plait.chains import batch_classifier, classifier
from plait.errors import OutputParseError, PlaitError
from plait.finetune.head import HeadChat, train_head
from plait.finetune.store import adapter_dir, list_adapters, load_info
from plait.models import resolve_model

pytestmark = pytest.mark.train  # fits embedding heads on MiniLM

TRAIN = {
    "card_arrival": ["My new card has not arrived yet", "Still waiting for my card in the post",
                     "When will my card be delivered?", "The card you sent never came", "card not here after a week"],
    "exchange_rate": ["What exchange rate do you use?", "How much is a euro in pounds today?",
                      "Is the currency conversion rate fair?", "rate for dollars to yen", "what rate for converting money"],
    "lost_card": ["I lost my card", "Someone stole my wallet with my card", "My card is missing, block it",
                  "I can't find my card anywhere", "card stolen last night"],
}
TEXTS = [t for texts in TRAIN.values() for t in texts]
LABELS = [label for label, texts in TRAIN.items() for _ in texts]
HELD_OUT = (["Has my card been posted yet?", "What's today's rate for euros?", "My purse with my card was stolen"],
            ["card_arrival", "exchange_rate", "lost_card"])


@pytest.fixture
def head():
    return train_head("cards", TEXTS, LABELS, validation=HELD_OUT, progress=False)


def test_logreg_head_is_stored_with_metadata(head):
    assert head.method == "embedding-head" and head.hyperparameters["method"] == "logreg"
    assert head.metrics["val_accuracy"] == 1.0 and head.metrics["train_examples"] == 15
    assert head.task == {"kind": "classification", "labels": ["card_arrival", "exchange_rate", "lost_card"]}
    stored = json.loads((adapter_dir("cards") / "adapter.json").read_text())
    assert stored["name"] == "cards" and stored["created"]
    assert [a.name for a in list_adapters()] == ["cards"]


def test_lora_reference_resolves_to_the_head_and_classifiers_use_it(head):
    llm = resolve_model("lora:cards")
    assert isinstance(llm, HeadChat)
    assert llm.invoke("Text: where is my card, it never arrived").content == "card_arrival"
    node = classifier(["card_arrival", "exchange_rate", "lost_card", "other"], model="lora:cards")
    result = node.invoke("somebody took my card from my bag")
    assert result.label == "lost_card" and 0 < result.confidence <= 1 and result.input_tokens == 0
    batch = batch_classifier(["card_arrival", "exchange_rate", "lost_card"], model="lora:cards", batch_size=4)
    assert [r.label for r in batch.invoke(HELD_OUT[0])] == HELD_OUT[1]


def test_head_refuses_a_node_without_its_labels(head):
    node = classifier(["card_arrival", "exchange_rate"], model="lora:cards")
    with pytest.raises(OutputParseError, match="not one of this node's labels"):
        node.invoke("my card was stolen")


def test_setfit_head_tunes_and_saves_its_encoder():
    info = train_head("cards-setfit", TEXTS, LABELS, method="setfit", epochs=2, batch_size=16,
                      validation=HELD_OUT, progress=False)
    assert (adapter_dir("cards-setfit") / "encoder").is_dir()
    assert info.metrics["val_accuracy"] >= 2 / 3
    assert resolve_model("lora:cards-setfit").invoke("Text: rate of the dollar?").content == "exchange_rate"


def test_contrastive_batches_never_hold_a_label_twice_and_use_every_example_once():
    import random

    from plait.finetune.head import _batches

    texts = [f"{label} text {i}" for label in "abcde" for i in range(4)]
    labels = [t.split()[0] for t in texts]
    batches = _batches(texts, labels, 3, random.Random(0))
    for batch in batches:
        batch_labels = [a.split()[0] for a, _ in batch]
        assert len(set(batch_labels)) == len(batch_labels) > 1
        assert all(a != p and a.split()[0] == p.split()[0] for a, p in batch)
    assert sorted(a for batch in batches for a, _ in batch) == sorted(texts)


def test_regularisation_is_chosen_by_cross_validation():
    info = train_head("cards-cv", TEXTS, LABELS, progress=False)
    from plait.finetune.head import C_GRID
    assert info.hyperparameters["c"] in C_GRID


def test_bad_inputs_are_refused():
    with pytest.raises(PlaitError, match="at least two distinct labels"):
        train_head("x", ["a", "b"], ["same", "same"], progress=False)
    with pytest.raises(PlaitError, match="use logreg or setfit"):
        train_head("x", TEXTS, LABELS, method="svm", progress=False)
    with pytest.raises(PlaitError, match="not allowed"):
        train_head("../escape", TEXTS, LABELS, progress=False)
    with pytest.raises(PlaitError, match="No adapter 'nope'"):
        load_info("nope")


def test_a_head_trained_into_a_folder_ships_outside_the_adapter_store(tmp_path):
    from plait.finetune.head import HeadClassifier, train_head_into

    folder = train_head_into(tmp_path / "shipped-head", TEXTS, LABELS, data_hash="abc", progress=False)
    assert json.loads((folder / "adapter.json").read_text())["data_hash"] == "abc"
    assert "shipped-head" not in [a.name for a in list_adapters()]  # the store is untouched
    assert [label for label, _ in HeadClassifier(folder).classify(list(HELD_OUT[0]))] == HELD_OUT[1]
