import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plait.cli import app
from plait.retrieval import vector_store

pytestmark = pytest.mark.real  # MiniLM embeddings and Chroma

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def docs(isolated):
    folder = isolated / "kb"
    folder.mkdir()
    (folder / "refunds.md").write_text("# Refunds\n\n## Timing\nRefunds reach your card within 5-7 working days.\n")
    (folder / "delivery.md").write_text("# Delivery\n\n## Costs\nStandard delivery costs £3.95.\n")
    (folder / "bad.jsonl").write_text("{oops\n")
    return folder


def test_ingest_reports_then_skips_unchanged(docs):
    first = runner.invoke(app, ["ingest", str(docs), "--collection", "cli-kb"])
    assert first.exit_code == 0, first.output
    assert "2 new" in first.output and "1 skipped" in first.output and "line 1 is not valid JSON" in first.output
    second = runner.invoke(app, ["ingest", str(docs), "--collection", "cli-kb"])
    assert "0 chunks added" in second.output and "2 unchanged" in second.output


def test_prune_flag(docs):
    runner.invoke(app, ["ingest", str(docs), "--collection", "cli-kb"])
    (docs / "delivery.md").unlink()
    result = runner.invoke(app, ["ingest", str(docs), "--collection", "cli-kb", "--prune"])
    assert "1 pruned" in result.output


def test_search_shows_scores_and_sources(docs):
    runner.invoke(app, ["ingest", str(docs), "--collection", "cli-kb"])
    result = runner.invoke(app, ["search", "how much is delivery", "-k", "1", "--collection", "cli-kb"])
    assert result.exit_code == 0, result.output
    assert "delivery.md" in result.output and "3.95" in result.output
    none = runner.invoke(app, ["search", "zebra migration", "--collection", "cli-kb", "--threshold", "0.9"])
    assert "no matching chunks above 0.9" in none.output


@pytest.mark.real
def test_ask_rag_answers_with_sources(docs):
    runner.invoke(app, ["ingest", str(docs), "--collection", "cli-kb"])
    result = runner.invoke(app, ["ask", "--rag", "How long do refunds take?", "--collection", "cli-kb", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["knew"] and "5-7 working days" in data["answer"] and data["sources"][0]["title"] == "Refunds"
    assert data["mode"] == "extractive" and data["evidence"]


@pytest.mark.real
def test_ask_agent_support_and_chat(isolated, monkeypatch):
    # The empty helpcentre collection of this fresh folder is filled from the packaged help centre.
    result = runner.invoke(app, ["ask", "--agent", "support", "Where is my order A1002?", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["tool_calls"][0]["tool"] == "lookup_order" and "A1002" in data["answer"]
    chat = runner.invoke(app, ["chat", "--thread", "t-cli"], input="Hello!\n\n")
    assert chat.exit_code == 0, chat.output
    assert "assistant:" in chat.output
    assert (isolated / ".plait" / "threads.db").exists()
    sources = {Path(m["source"]).name for m in vector_store("helpcentre").get(include=["metadatas"])["metadatas"]}
    assert "returns-refund-timing.md" in sources and len(sources) == 32


@pytest.mark.real
def test_chat_with_the_tools_agent_calls_a_tool_on_the_local_default(isolated):
    chat = runner.invoke(app, ["chat", "--agent", "tools"], input="What is 17 * 23?\nWhere is my order A1002?\n\n")
    assert chat.exit_code == 0, chat.output
    assert "tool: calculator(" in chat.output and "391" in chat.output
    assert "tool: lookup_order({'order_id': 'A1002'})" in chat.output


@pytest.mark.real
def test_ingest_of_nothing_readable_fails(tmp_path):
    result = runner.invoke(app, ["ingest", str(tmp_path / "no-such-folder"), "--collection", "cli-missing"])
    assert result.exit_code == 1 and "skipped" in result.output and "no such file" in result.output
