"""Tool-calling training data: what the adapter learns is exactly what the agent asks at run time."""

import json

import pytest

from plait.agents import react_agent
from plait.agents.prompts import REACT_TOOLS
from plait.agents.tool_training import case_example, read_cases, spec_tool, training_examples
from plait.errors import PlaitError
from plait.testing import ScriptedChatModel

BOOK = {"name": "reserve_court", "description": "Book a tennis court.",
        "parameters": {"type": "object", "properties": {
            "club_id": {"type": "string"}, "hour": {"type": "integer", "description": "0-23"},
            "surface": {"type": "string", "enum": ["clay", "grass"]}}, "required": ["club_id", "hour"]}}
FIND = {"name": "findClub", "description": "Find a tennis club by town.",
        "parameters": {"type": "object", "properties": {"town": {"type": "string"}}, "required": ["town"]}}
TWO_STEP = {"id": "t", "kind": "two-step", "tools": [BOOK, FIND], "request": "court in Leeds at 5pm please",
            "calls": [{"tool": "findClub", "args": {"town": "Leeds"}, "result": {"club_id": "LD-4"}},
                      {"tool": "reserve_court", "args": {"club_id": "LD-4", "hour": 17}, "result": {"ok": True}}],
            "answer": "Booked: club LD-4 at 17:00.", "answer_contains": ["LD-4"]}


def test_spec_tool_describes_enums_optional_arguments_and_hints():
    tool = spec_tool(BOOK)
    assert tool.name == "reserve_court"
    assert json.loads(tool.invoke({"club_id": "x", "hour": 3})) == {"club_id": "x", "hour": 3}
    agent_llm = ScriptedChatModel(replies=[json.dumps({"answer": "hi"})])
    react_agent([tool], model=agent_llm, protocol="json", prompt=REACT_TOOLS, thoughts=False).invoke(
        {"messages": [("human", "hi")]})
    system = agent_llm.calls[0][0].content
    assert '- reserve_court(club_id: string, hour: integer (0-23), surface?: "clay" | "grass"): Book a tennis court.' \
        in system


def test_case_example_trains_every_turn_and_matches_what_the_agent_sends():
    example = case_example(TWO_STEP)
    roles = [(m["role"], m.get("weight")) for m in example["messages"]]
    assert roles == [("system", None), ("user", None), ("assistant", 1), ("user", None), ("assistant", 1),
                     ("user", None), ("assistant", None)]
    assert json.loads(example["messages"][2]["content"]) == {"tool": "findClub", "args": {"town": "Leeds"}}
    assert json.loads(example["messages"][-1]["content"]) == {"answer": "Booked: club LD-4 at 17:00."}
    # The agent on the same tools, scripted to make the same calls, must send the same turns.
    tools = [spec_tool(BOOK, lambda **_: json.dumps({"ok": True})),
             spec_tool(FIND, lambda **_: json.dumps({"club_id": "LD-4"}))]
    replies = [m["content"] for m in example["messages"] if m["role"] == "assistant"]
    llm = ScriptedChatModel(replies=replies)
    react_agent(tools, model=llm, protocol="json", prompt=REACT_TOOLS, thoughts=False).invoke(
        {"messages": [("human", TWO_STEP["request"])]})
    sent = [[{"role": {"system": "system", "human": "user", "ai": "assistant"}[m.type], "content": m.content}
             for m in call] for call in llm.calls]
    stripped = [{k: v for k, v in m.items() if k != "weight"} for m in example["messages"]]
    assert sent[-1] == stripped[:-1]
    assert sent[0] == stripped[:2]


def test_training_examples_one_per_case_and_no_thought_field():
    examples = training_examples([TWO_STEP, {**TWO_STEP, "calls": [], "kind": "none", "answer": "Hello!"}])
    assert len(examples) == 2
    assert [m["role"] for m in examples[1]["messages"]] == ["system", "user", "assistant"]
    assert "thought" not in examples[0]["messages"][2]["content"]


def test_read_cases_names_the_bad_line(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(TWO_STEP) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(PlaitError, match=r"cases.jsonl:2: not valid JSON"):
        read_cases(path)
    path.write_text(json.dumps({"request": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(PlaitError, match="lacks tools, answer"):
        read_cases(path)


def test_spec_without_name_is_a_clear_error():
    with pytest.raises(PlaitError, match="needs a 'name'"):
        spec_tool({"description": "nameless"})
