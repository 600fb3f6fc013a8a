import json

import pytest
from typer.testing import CliRunner

from plait.cli import app, main
from plait.prompts import as_node, prompt
from plait.testing import ScriptedChatModel
from plait.tracing import SQLiteTracer

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "220")  # Rich sizes tables from COLUMNS when not on a tty


def test_models_shows_roles_and_binding_sources(isolated, monkeypatch):
    (isolated / "plait.toml").write_text('[models]\nclassifier = "gguf:missing.gguf"\n')
    monkeypatch.setenv("PLAIT_MODEL_JUDGE", "openai:gpt-4o")
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 3}
    assert "plait.toml" in lines["classifier"] and "missing file" in lines["classifier"]
    assert "environment" in lines["judge"] and "OPENAI_API_KEY" in lines["judge"]
    assert "local:gemma-3-270m" in lines["answerer"] and "default" in lines["answerer"]


def test_ask_with_a_bad_reference_prints_the_fix_without_traceback(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["plait", "ask", "hi", "--model", "ollama:x"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "Unknown model reference" in err and "Traceback" not in err


def test_ask_rejects_an_empty_question():
    result = runner.invoke(app, ["ask", "  "])
    assert result.exit_code == 2
    assert "empty" in result.output


def make_traces(db):
    tracer = SQLiteTracer(db)
    qa = prompt("qa", [("human", "Q: {q}")])
    llm = ScriptedChatModel(replies=["four", "blue"], callbacks=[tracer])
    chain = as_node(qa.template | llm, name="qa", prompt=qa)
    chain.invoke({"q": "2+2"})
    chain.invoke({"q": "sky colour"})
    ScriptedChatModel(replies=["x"], callbacks=[tracer]).invoke("not a node")


def test_traces_list_show_and_export(settings, tmp_path):
    make_traces(settings.trace_db)
    listed = runner.invoke(app, ["traces", "list", "--node", "qa"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.count("qa@") == 2
    run_id = listed.output.splitlines()[3].split("│")[1].strip()
    shown = runner.invoke(app, ["traces", "show", run_id])
    assert shown.exit_code == 0 and "Q: sky colour" in shown.output and "blue" in shown.output

    out = tmp_path / "chat.jsonl"
    exported = runner.invoke(app, ["traces", "export", "--node", "qa", "--format", "chat", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows == [{"messages": [{"role": "user", "content": "Q: 2+2"}, {"role": "assistant", "content": "four"}]},
                    {"messages": [{"role": "user", "content": "Q: sky colour"},
                                  {"role": "assistant", "content": "blue"}]}]
    raw = runner.invoke(app, ["traces", "export"])
    assert len(raw.output.splitlines()) == 3


def test_traces_without_a_database_explains(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["plait", "traces", "list"])
    with pytest.raises(SystemExit):
        main()
    assert "No trace database" in capsys.readouterr().err


@pytest.mark.real
def test_ask_answers_on_the_local_model_as_json(settings):
    result = runner.invoke(app, ["ask", "What is the capital of Italy?", "--json", "--max-tokens", "24"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert "Rome" in data["answer"]
    assert data["model"] == "local:gemma-3-270m" and data["prompt"].startswith("ask@")
    assert data["completion_tokens"] > 0
    assert settings.trace_db.exists()


def test_error_and_model_text_with_square_brackets_print_as_written(capsys, monkeypatch):
    # Rich markup must not eat "[local]" from an error's fix, nor crash on "[/bold]" in a message.
    from plait.cli import main
    from plait.errors import PlaitError

    def fail():
        raise PlaitError("raise n_ctx under [local] in plait.toml; the model wrote [/bold] here")

    monkeypatch.setattr("plait.cli.app", fail)
    with pytest.raises(SystemExit):
        main()
    err = capsys.readouterr().err
    assert "[local]" in err and "[/bold]" in err and "Traceback" not in err


def run_main(monkeypatch, capsys, *argv):
    """``plait ARGV`` through the script's entry; (exit code, what it printed)."""
    monkeypatch.setattr("sys.argv", ["plait", *argv])
    with pytest.raises(SystemExit) as exit_:
        main()
    captured = capsys.readouterr()
    return exit_.value.code, captured.out + captured.err


def test_arguments_that_are_not_utf8_get_an_error_not_a_traceback(isolated, monkeypatch, capsys):
    # Found by the CLI sweep: "\udcff" is how Python hands over a byte that is not UTF-8.
    for argv in (["moderate", "--text", "\udcff\udcfeabc"], ["traces", "show", "\udcff"],
                 ["finetune", "openai", "list", "--api-key", "k\udcffey"]):
        code, out = run_main(monkeypatch, capsys, *argv)
        assert code == 2 and "is not UTF-8 text" in out and "Traceback" not in out


def test_paths_that_cannot_be_used_get_an_error_naming_them(isolated, monkeypatch, capsys):
    # Found by the CLI sweep: each ended in OSError / IsADirectoryError / FileNotFoundError tracebacks.
    ScriptedChatModel(replies=["a"], callbacks=[SQLiteTracer(isolated / ".plait" / "traces.db")]).invoke("hi")
    for out_file in ("x" * 100_000, "", "/nonexistent/dir/file.csv"):
        code, out = run_main(monkeypatch, capsys, "traces", "export", "--out", out_file)
        assert code == 1 and "cannot use" in out and "Check the path" in out and "Traceback" not in out



@pytest.mark.real  # opens a Chroma collection before it reads the paths
def test_ingest_of_a_path_too_long_for_the_system_says_so(isolated, monkeypatch, capsys):
    code, out = run_main(monkeypatch, capsys, "ingest", "x" * 100_000)
    assert code == 1 and "Traceback" not in out and "File name too long" in out


def test_serve_refuses_an_empty_api_key_or_data_folder(isolated, monkeypatch, capsys):
    for argv in (["serve", "--api-key", ""], ["serve", "--data-dir", ""]):
        code, out = run_main(monkeypatch, capsys, *argv)
        assert code == 2 and ("API key can't be empty" in out or "folder of its own" in out)


def test_finetune_tools_with_nothing_to_train_says_what_to_add(isolated):
    result = runner.invoke(app, ["finetune", "tools", "--no-adapter"])
    assert result.exit_code != 0
    assert "--scorer FOLDER" in result.output
