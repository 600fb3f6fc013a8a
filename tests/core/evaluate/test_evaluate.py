"""Evaluation harness: datasets, runs, resume, comparison and the CLI (scripted models and plain Runnables)."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.runnables import RunnableLambda
from typer.testing import CliRunner

from plait.cli import app
from plait.evaluate import (DatasetError, RunStore, compare, evaluate, load_dataset, load_prompt, sample, split,
                            target)
from plait.evaluate.targets import Target, runnable_target
from plait.errors import PlaitError
from plait.testing import ScriptedChatModel

cli = CliRunner()


@pytest.fixture(autouse=True)
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # Rich sizes tables from COLUMNS when not on a tty


def write_csv(path: Path, rows: list[tuple[str, str]], header: str = "text,label") -> Path:
    path.write_text(header + "\n" + "\n".join(f"{t},{lab}" for t, lab in rows) + "\n", encoding="utf-8")
    return path


ROWS = [("card late", "card"), ("card lost", "card"), ("card stolen", "card"), ("refund me", "refund"),
        ("money back", "refund"), ("refund please", "refund"), ("hello", "other"), ("thanks", "other")]


# --- datasets -------------------------------------------------------------------------------------

def test_csv_dataset_fields_ids_and_hash(tmp_path):
    data = load_dataset(write_csv(tmp_path / "d.csv", ROWS))
    assert len(data) == 8 and data.items[0].inputs == {"text": "card late"} and data.items[0].expected == "card"
    assert data.labels() == ["card", "other", "refund"]
    assert load_dataset(tmp_path / "d.csv").hash == data.hash  # content-derived: same file, same hash
    write_csv(tmp_path / "d.csv", ROWS[:-1] + [("thank you", "other")])
    assert load_dataset(tmp_path / "d.csv").hash != data.hash


def test_jsonl_bad_line_is_named(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"question": "a", "answer": "b"}\n{"question": "c", "answer": \n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"d.jsonl:2: not valid JSON"):
        load_dataset(path)


def test_missing_column_names_line_and_fields(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"question": "a", "answer": "b"}\n{"answer": "c"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"d.jsonl:2: no field 'question'"):
        load_dataset(path, inputs=["question"])
    with pytest.raises(DatasetError, match="no field 'gold'"):
        load_dataset(write_csv(tmp_path / "d.csv", ROWS), expected="gold")


def test_duplicate_ids_and_unknown_type_rejected(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": 1, "text": "a"}\n{"id": 1, "text": "b"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="appears twice"):
        load_dataset(path)
    (tmp_path / "d.txt").write_text("x")
    with pytest.raises(DatasetError, match="use .csv or .jsonl"):
        load_dataset(tmp_path / "d.txt")


def test_stratified_split_and_sample_keep_label_shares(tmp_path):
    rows = [(f"a{i}", "a") for i in range(30)] + [(f"b{i}", "b") for i in range(10)]
    data = load_dataset(write_csv(tmp_path / "d.csv", rows))
    train, test = split(data, test=0.2, seed=1)
    assert [i.expected for i in test].count("a") == 6 and [i.expected for i in test].count("b") == 2
    assert not {i.id for i in train} & {i.id for i in test} and len(train) + len(test) == 40
    assert [i.id for i in split(data, test=0.2, seed=1)[1]] == [i.id for i in test]  # fixed seed
    small = sample(data, 8, seed=0)
    assert sorted(i.expected for i in small) == ["a"] * 4 + ["b"] * 4  # round-robin over labels


# --- runs -----------------------------------------------------------------------------------------

def keyword_classifier(text: str) -> dict:
    return {"label": "card" if "card" in text else "refund"}


def test_classification_run_is_scored_and_stored(tmp_path):
    data = load_dataset(write_csv(tmp_path / "d.csv", ROWS))
    store = RunStore(tmp_path / "evals.db")
    tgt = Target("keywords", "classification", lambda xs, cfg: [keyword_classifier(x) for x in xs],
                 to_input=lambda inputs: inputs["text"])
    run = evaluate(tgt, data, store=store, name="kw", progress=False)
    # card 3/3 right, refund 3/3 right, other 0/2 (predicted refund): accuracy 6/8
    assert run["status"] == "done" and run["metrics"]["accuracy"] == pytest.approx(0.75)
    assert run["report"]["labels"] == ["card", "other", "refund"]
    assert run["report"]["confusion"] == [[3, 0, 0], [0, 0, 2], [0, 0, 3]]
    assert store.get("kw")["id"] == run["id"] and len(store.items(run["id"])) == 8


def test_scripted_classifier_target_records_prompt_and_tokens(tmp_path):
    data = load_dataset(write_csv(tmp_path / "d.csv", ROWS[:4]))
    llm = ScriptedChatModel(replies=["card", "card", "refund", "refund"])
    run = evaluate(target("classify", data, model=llm), data, store=RunStore(tmp_path / "e.db"), progress=False)
    assert run["metrics"]["accuracy"] == pytest.approx(0.75)  # "card stolen" answered refund
    assert any(p.startswith("classify@") for p in run["prompts"])
    assert run["metrics"]["tokens"] > 0


def test_failed_items_are_recorded_not_fatal(tmp_path):
    data = load_dataset(write_csv(tmp_path / "d.csv", ROWS[:3]))

    def flaky(inputs: dict) -> str:  # Runnable targets get the item's input fields as a dict
        if inputs["text"] == "card lost":
            raise ValueError("model unavailable")
        return inputs["text"].split()[-1]
    store = RunStore(tmp_path / "e.db")
    run = evaluate(runnable_target(RunnableLambda(flaky)), data, store=store, metrics=["exact_match"], progress=False)
    # "late" and "stolen" are scored (both wrong); the failed item is kept with its error, unscored
    assert run["metrics"]["errors"] == 1 and run["metrics"]["exact_match"] == 0.0
    assert [i["error"] for i in store.items(run["id"])][1] == "ValueError: model unavailable"


def test_interrupted_run_resumes_where_it_stopped(tmp_path):
    data = load_dataset(write_csv(tmp_path / "d.csv", ROWS))
    calls: list[str] = []
    interrupt = {"armed": True}

    def model(inputs: dict) -> str:
        calls.append(inputs["text"])
        if inputs["text"] == "money back" and interrupt["armed"]:
            interrupt["armed"] = False
            raise KeyboardInterrupt
        return keyword_classifier(inputs["text"])["label"]
    store = RunStore(tmp_path / "e.db")
    tgt = runnable_target(RunnableLambda(model))
    with pytest.raises(KeyboardInterrupt):
        evaluate(tgt, data, store=store, metrics=["exact_match"], name="long", progress=False)
    assert store.get("long")["status"] == "interrupted"
    stored = {row["input"]["text"] for row in store.items(store.get("long")["id"])}
    # Everything before the interrupt is kept; an item already finished beside it may be too.
    assert {t for t, _ in ROWS[:4]} <= stored and "money back" not in stored
    calls.clear()
    run = evaluate(tgt, data, store=store, metrics=["exact_match"], resume="long", progress=False)
    assert calls == [t for t, _ in ROWS if t not in stored]  # only the unfinished items ran again
    assert run["status"] == "done" and len(store.items(run["id"])) == 8
    assert run["metrics"]["exact_match"] == pytest.approx(6 / 8)


def test_resume_refuses_other_data(tmp_path):
    store = RunStore(tmp_path / "e.db")
    data = load_dataset(write_csv(tmp_path / "d.csv", ROWS))
    tgt = runnable_target(RunnableLambda(lambda x: "card"))
    evaluate(tgt, data, store=store, metrics=["exact_match"], name="r", progress=False)
    other = load_dataset(write_csv(tmp_path / "o.csv", ROWS[:3]))
    with pytest.raises(PlaitError, match="Resume with the same target and data"):
        evaluate(tgt, other, store=store, metrics=["exact_match"], resume="r", progress=False)


def test_unknown_target_lists_choices():
    with pytest.raises(PlaitError, match="classify, rag, role, support"):
        target("classifier")


def test_prompt_files_and_module_prompts(tmp_path):
    (tmp_path / "p.toml").write_text('name = "triage"\nmessages = [["system", "Sort: {labels}"], ["human", "{text}"]]\n')
    p = load_prompt(str(tmp_path / "p.toml"))
    assert p.name == "triage" and p.id.startswith("triage@")
    (tmp_path / "bad.toml").write_text('name = "x"\n')
    with pytest.raises(PlaitError, match="messages"):
        load_prompt(str(tmp_path / "bad.toml"))
    (tmp_path / "prompts.py").write_text("from plait.prompts import prompt\nV2 = prompt('v2', [('human', '{text}')])\n")
    assert load_prompt(f"{tmp_path / 'prompts.py'}:V2").name == "v2"


# --- comparison -----------------------------------------------------------------------------------

def two_runs(tmp_path) -> RunStore:
    data = load_dataset(write_csv(tmp_path / "d.csv", ROWS))
    store = RunStore(tmp_path / "e.db")
    first = Target("x", "classification", lambda xs, cfg: [{"label": "card"} for _ in xs], to_input=lambda i: i["text"])
    second = Target("x", "classification", lambda xs, cfg: [keyword_classifier(x) for x in xs],
                    to_input=lambda i: i["text"])
    evaluate(first, data, store=store, name="a", progress=False)   # 3/8 right
    evaluate(second, data, store=store, name="b", progress=False)  # 6/8 right
    return store


def test_compare_differences_interval_and_items(tmp_path):
    result = compare(two_runs(tmp_path), "a", "b", resamples=500)
    acc = next(m for m in result["metrics"] if m["name"] == "accuracy")
    assert (acc["a"], acc["b"]) == (pytest.approx(3 / 8), pytest.approx(6 / 8))
    assert acc["diff"] == pytest.approx(3 / 8) and acc["higher_is_better"]
    assert result["main_metric"] == "accuracy"
    ci = result["ci"]
    assert ci["diff"] == pytest.approx(3 / 8) and ci["low"] <= ci["diff"] <= ci["high"] and ci["low"] >= 0
    assert result["regressed"] == []  # b is right wherever a was
    assert sorted(r["input"] for r in result["improved"]) == ["money back", "refund me", "refund please"]
    assert result["a"]["confusion"]["labels"] == ["card", "other", "refund"]


def test_cli_run_list_show_compare(tmp_path, monkeypatch):
    write_csv(tmp_path / "d.csv", ROWS)
    (tmp_path / "mychain.py").write_text(
        "from langchain_core.runnables import RunnableLambda\n"
        "def build(prompt=None):\n"
        "    return RunnableLambda(lambda x: 'card' if 'card' in x['text'] else 'other')\n"
        "chain = build()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = cli.invoke(app, ["eval", "run", "mychain:chain", "--data", "d.csv", "--metric", "accuracy",
                             "--metric", "exact_match", "--name", "base"])
    assert first.exit_code == 0, first.output
    assert "accuracy" in first.output and "0.625" in first.output  # card 3 + other 2 of 8
    second = cli.invoke(app, ["eval", "run", "mychain:build", "--data", "d.csv", "--limit", "4", "--name", "small"])
    assert second.exit_code == 0, second.output
    listing = cli.invoke(app, ["eval", "list"])
    assert "base" in listing.output and "small" in listing.output
    shown = cli.invoke(app, ["eval", "show", "base", "--items", "2"])
    assert "card late" in shown.output and "precision" in shown.output
    compared = cli.invoke(app, ["eval", "compare", "base", "small"])
    assert compared.exit_code == 0, compared.output
    assert "different datasets" in compared.output and "95% CI" in compared.output
    missing = cli.invoke(app, ["eval", "show", "nope"])
    assert missing.exit_code != 0


def test_cli_bad_dataset_is_a_clear_error(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"text": "a", "label": "b"}\nnot json\n')
    result = cli.invoke(app, ["eval", "run", "classify", "--data", "d.jsonl"])
    assert result.exit_code != 0
    assert "d.jsonl:2: not valid JSON" in str(result.exception)
