"""Promotion gated by the evaluation harness, plait.toml edits, rollback, and the finetune CLI."""

from __future__ import annotations

import json
import tomllib

import pytest
from typer.testing import CliRunner

from plait.cli import app
from plait.config import load_settings
from plait.errors import PlaitError
from plait.finetune.data import classification_examples, write_jsonl
from plait.finetune.head import train_head
from plait.finetune.promote import bind, dataset_from_examples, promote, rollback

from tests.finetune.test_head import HELD_OUT, LABELS, TEXTS

cli = CliRunner()
VALIDATION = dataset_from_examples(classification_examples(list(zip(*HELD_OUT))))


@pytest.fixture(autouse=True)
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def heads():
    train_head("good", TEXTS, LABELS, progress=False)
    shuffled = LABELS[5:] + LABELS[:5]  # every text under the wrong label: a head that is always wrong
    train_head("bad", TEXTS, shuffled, progress=False)


def test_bind_edits_only_the_models_table(tmp_path):
    (tmp_path / "plait.toml").write_text('home = ".plait"\n\n[models]\nanswerer = "local:gemma-3-270m"\n\n'
                                         '[local]\nn_ctx = 2048\n')
    bind("classifier", "lora:good")
    bind("answerer", "gguf:other.gguf")
    data = tomllib.loads((tmp_path / "plait.toml").read_text())
    assert data["models"] == {"classifier": "lora:good", "answerer": "gguf:other.gguf"}
    assert data["local"] == {"n_ctx": 2048} and data["home"] == ".plait"
    bind("answerer", None)
    assert tomllib.loads((tmp_path / "plait.toml").read_text())["models"] == {"classifier": "lora:good"}
    with pytest.raises(PlaitError, match="not a valid TOML key"):
        bind("bad role", "x")


@pytest.mark.train
def test_gate_promotes_the_better_adapter_and_rollback_restores(tmp_path, heads):
    bind("classifier", "lora:bad")
    result = promote("good", role="classifier", data=VALIDATION, progress=False)
    assert result.promoted and result.before == 0.0 and result.after == 1.0 and result.previous == "lora:bad"
    assert load_settings().model_for("classifier") == "lora:good"
    history = json.loads((tmp_path / ".plait" / "promotions.json").read_text())
    assert history[-1]["previous"] == "lora:bad" and history[-1]["new"] == "lora:good"
    assert rollback("classifier") == ("lora:good", "lora:bad")
    assert load_settings().model_for("classifier") == "lora:bad"
    with pytest.raises(PlaitError, match="No promotion of role 'classifier'"):
        rollback("classifier")


@pytest.mark.train
def test_gate_refuses_a_worse_adapter_unless_forced(tmp_path, heads):
    bind("classifier", "lora:good")
    result = promote("bad", role="classifier", data=VALIDATION, progress=False)
    assert not result.promoted and "kept the current binding" in result.reason
    assert load_settings().model_for("classifier") == "lora:good"
    forced = promote("bad", role="classifier", force=True)
    assert forced.promoted and load_settings().model_for("classifier") == "lora:bad"
    assert rollback("classifier") == ("lora:bad", "lora:good")
    with pytest.raises(PlaitError, match="gated on validation data"):
        promote("bad", role="classifier")


@pytest.mark.train
def test_cli_prepare_train_promote_rollback_list(tmp_path):
    rows = [(t, label) for t, label in zip(TEXTS, LABELS)] * 2 + [(t + " please", label) for t, label in zip(TEXTS, LABELS)]
    (tmp_path / "labelled.csv").write_text("text,label\n" + "\n".join(f'"{t}",{label}' for t, label in rows) + "\n")
    prepared = cli.invoke(app, ["finetune", "prepare", "labelled.csv", "--out", "data"])
    assert prepared.exit_code == 0, prepared.output
    assert "15 duplicates dropped" in prepared.output and "openai:gpt-4o-mini-2024-07-18" in prepared.output
    assert {p.name for p in (tmp_path / "data").iterdir()} == {"train.jsonl", "validation.jsonl", "test.jsonl"}
    trained = cli.invoke(app, ["finetune", "train", "data", "--name", "cards", "--method", "logreg"])
    assert trained.exit_code == 0, trained.output
    assert "lora:cards" in trained.output
    listed = cli.invoke(app, ["finetune", "list"])
    assert "cards" in listed.output and "logreg" in listed.output
    promoted = cli.invoke(app, ["finetune", "promote", "cards", "--role", "classifier", "--force"])
    assert promoted.exit_code == 0 and "promoted" in promoted.output, promoted.output
    assert load_settings().model_for("classifier") == "lora:cards"
    evaluated = cli.invoke(app, ["finetune", "eval", "cards", "--data", "data/test.jsonl"])
    assert evaluated.exit_code == 0 and "accuracy" in evaluated.output, evaluated.output
    rolled = cli.invoke(app, ["finetune", "rollback", "classifier"])
    assert rolled.exit_code == 0 and "unbound" in rolled.output
    assert load_settings().model_for("classifier") is None


@pytest.mark.train
def test_cli_curve_reports_the_gain(tmp_path):
    write_jsonl(tmp_path / "data" / "train.jsonl", classification_examples(list(zip(TEXTS, LABELS)) * 1))
    write_jsonl(tmp_path / "data" / "validation.jsonl", classification_examples(list(zip(*HELD_OUT))))
    result = cli.invoke(app, ["finetune", "curve", "data"])
    assert result.exit_code == 0, result.output
    assert "50% of the data" in result.output and "gain from doubling the data" in result.output
