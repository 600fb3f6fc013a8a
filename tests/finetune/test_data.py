"""Fine-tuning data: building, validation with line numbers, de-duplication, splits, drift, costs."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from plait.config import load_settings
from plait.finetune.data import (DataError, classification_examples, cost_estimates, data_hash, dedupe, label_drift,
                                 label_of, read_examples, split_examples, write_jsonl)


def lines(tmp_path, *rows: str):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"messages": [{"role": "user", "content": "Text: hi"}, {"role": "assistant", "content": "greeting"}]})


def test_classification_examples_use_the_prompt():
    example = classification_examples([("Where is my card?", "card_arrival")])[0]
    assert [m["role"] for m in example["messages"]] == ["system", "user", "assistant"]
    assert example["messages"][1]["content"] == "Text: Where is my card?" and label_of(example) == "card_arrival"


@pytest.mark.parametrize("bad, message", [
    ("{not json", r"d.jsonl:2: not valid JSON"),
    ('{"messages": [{"role": "robot", "content": "x"}]}', r"d.jsonl:2: message 1 has unknown role 'robot'"),
    ('{"messages": [{"role": "user", "content": "  "}, {"role": "assistant", "content": "a"}]}',
     r"d.jsonl:2: message 1 \(user\) has empty content"),
    ('{"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}]}',
     r"d.jsonl:2: the last message must be the assistant's"),
    ('{"text": "no messages"}', r"d.jsonl:2: expected \{\"messages\""),
])
def test_validation_names_the_line(tmp_path, bad, message):
    with pytest.raises(DataError, match=message):
        read_examples(lines(tmp_path, GOOD, bad))


def test_token_limit_names_the_line(tmp_path):
    long = json.dumps({"messages": [{"role": "user", "content": "word " * 50}, {"role": "assistant", "content": "x"}]})
    with pytest.raises(DataError, match=r"d.jsonl:2: example is 51 tokens, over the limit of 20"):
        read_examples(lines(tmp_path, GOOD, long), max_tokens=20, count_tokens=lambda t: len(t.split()))


def test_prompt_completion_rows_become_chat(tmp_path):
    examples = read_examples(lines(tmp_path, '{"prompt": "User: hi\\nAssistant:", "completion": " greeting"}'))
    assert examples[0]["messages"][-1] == {"role": "assistant", "content": " greeting"}


def test_dedupe_and_hash():
    examples = classification_examples([("a", "x"), ("b", "y"), ("a", "x")])
    unique, dropped = dedupe(examples)
    assert dropped == 1 and len(unique) == 2
    assert data_hash(unique) == data_hash(classification_examples([("a", "x"), ("b", "y")]))
    assert data_hash(unique) != data_hash(classification_examples([("a", "x"), ("b", "z")]))


def test_stratified_split_keeps_every_label_and_is_seeded():
    rows = [(f"a{i}", "a") for i in range(40)] + [(f"b{i}", "b") for i in range(10)] + [("c0", "c"), ("c1", "c")]
    parts = split_examples(classification_examples(rows), fractions=(0.8, 0.1, 0.1), seed=3)
    counts = {name: Counter(label_of(e) for e in part) for name, part in parts.items()}
    assert counts["validation"] == {"a": 4, "b": 1} and counts["test"] == {"a": 4, "b": 1}
    assert counts["train"] == {"a": 32, "b": 8, "c": 2}  # 2 examples of c: too few to hold any out
    again = split_examples(classification_examples(rows), fractions=(0.8, 0.1, 0.1), seed=3)
    assert again == parts
    with pytest.raises(DataError, match="adding up to 1"):
        split_examples(classification_examples(rows), fractions=(0.8, 0.3, 0.1))


def test_drift_is_reported():
    same = {"train": classification_examples([("1", "a"), ("2", "b")] * 5),
            "validation": classification_examples([("3", "a"), ("4", "b")])}
    assert label_drift(same) == []
    skewed = {"train": same["train"], "validation": classification_examples([("3", "a"), ("4", "a"), ("5", "c")])}
    drift = label_drift(skewed)[0]
    # train a 0.5 b 0.5; validation a 2/3 c 1/3: TVD = (|0.5-2/3| + 0.5 + 1/3) / 2 = 0.5
    assert drift.split == "validation" and drift.distance == pytest.approx(0.5) and drift.missing_in_train == ("c",)


def test_cost_estimates_use_config_prices(tmp_path):
    (tmp_path / "plait.toml").write_text('[prices]\n"openai:my-model" = { training = 2.0 }\n')
    costs = cost_estimates(500_000, epochs=3, prices=load_settings().training_prices)
    assert costs["openai:my-model"] == pytest.approx(3.0)  # 1.5M tokens x $2 / 1M
    assert costs["local:gemma-3-270m"] == 0.0 and costs["openai:gpt-4o-mini-2024-07-18"] == pytest.approx(4.5)


def test_write_jsonl_round_trips(tmp_path):
    examples = classification_examples([("héllo", "greeting")])
    assert read_examples(write_jsonl(tmp_path / "out" / "train.jsonl", examples)) == examples


def test_classifier_follows_the_prompt_an_adapter_was_trained_on():
    from plait.chains import classifier
    from plait.config import Settings
    from plait.finetune.data import CLASSIFY_FT, prompt_task
    from plait.models import resolve_model

    base = resolve_model("local:gemma-3-270m", settings=Settings(tracing=False))
    tuned = base.model_copy(update={"adapter_task": prompt_task()})
    assert classifier(["a", "b"], model=base).config["metadata"]["plait_prompt"].startswith("classify@")
    node = classifier(["a", "b"], model=tuned, examples=[("x", "a")], k=1)
    assert node.config["metadata"]["plait_prompt"] == CLASSIFY_FT.id  # same wording, same version
