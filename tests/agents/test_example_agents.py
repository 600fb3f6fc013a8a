"""The two custom-agent examples: control flow with scripted models, and a real-model run."""

import sys
from pathlib import Path

import pytest

from plait.retrieval import ingest, vector_store
from plait.testing import ScriptedChatModel, tool_call

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import plan_execute_agent  # noqa: E402
import research_agent  # noqa: E402


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kb")
    (folder / "refunds.md").write_text("# Refunds\n\n## Timing\nRefunds reach your card within 5-7 working days.\n")
    (folder / "delivery.md").write_text("# Delivery\n\n## Costs\nStandard delivery costs £3.95.\n")
    store = vector_store("agents-kb", path=folder / "chroma")
    ingest([folder], store=store)
    return store


@pytest.mark.real
def test_research_agent_searches_locally_offline_and_cites(kb):
    planner = ScriptedChatModel(replies=[{"queries": ["refund time", "refund card"]}])
    writer = ScriptedChatModel(replies=["Refunds take 5-7 working days [1]."])
    searcher = ScriptedChatModel(replies=[tool_call("search_help_centre", query="refunds"), "found"], cycle=True)
    agent = research_agent.build(planner=planner, writer=writer, searcher=searcher, store=kb, use_web=False)
    out = agent.invoke({"question": "How long do refunds take?"})
    assert out["answer"] == "Refunds take 5-7 working days [1]." and out["cited"] == [1]
    assert out["tool_calls"] == [{"tool": "search_help_centre", "args": {"query": "refunds"}}] * 3
    assert out["sources"][0]["title"] == "Refunds"
    assert "[1] Refunds: " in writer.calls[0][-1].content


def test_plan_and_execute_runs_every_step(kb):
    planner = ScriptedChatModel(replies=[{"steps": ["compute 12% of 340", "find the delivery cost"]}])
    executor = ScriptedChatModel(replies=[tool_call("calculator", expression="0.12*340"), "40.8",
                                          tool_call("search_help_centre", query="delivery cost"), "£3.95"])
    writer = ScriptedChatModel(replies=["12% of 340 is 40.8 and delivery is £3.95."])
    out = plan_execute_agent.build(planner=planner, executor=executor, writer=writer, store=kb).invoke(
        {"task": "12% of 340 and the delivery cost?"})
    assert out["done"] == [("compute 12% of 340", "40.8"), ("find the delivery cost", "£3.95")]
    assert [c["tool"] for c in out["tool_calls"]] == ["calculator", "search_help_centre"]
    assert out["answer"].startswith("12% of 340 is 40.8")
    assert "- compute 12% of 340: 40.8" in writer.calls[0][-1].content


@pytest.mark.real
def test_both_examples_make_real_tool_calls_on_the_local_default(kb):
    research = research_agent.build(store=kb, use_web=False).invoke({"question": "How long do refunds take?"})
    assert research["answer"] and research["sources"]
    assert research["tool_calls"] and all(c["tool"] == "search_help_centre" for c in research["tool_calls"])
    assert any("5-7 working days" in s["text"] for s in research["sources"])
    plan = plan_execute_agent.build(store=kb).invoke({"task": "What is 6 times 7?"})
    assert 1 <= len(plan["done"]) <= 4 and plan["answer"]
    assert any(c["tool"] == "calculator" for c in plan["tool_calls"]), plan
