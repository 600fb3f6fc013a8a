"""The zero-training tool router: embedding choice of the tool, arguments from the model, quoted results."""

import json

import pytest

from plait.agents import react_agent
from plait.agents.router import readable, tool_text
from plait.agents.tool_training import spec_tool
from plait.testing import ScriptedChatModel

pytestmark = pytest.mark.real  # real MiniLM embeddings

LOANS = spec_tool({"name": "renewLoan", "description": "Renew a borrowed library book for another three weeks.",
                   "parameters": {"type": "object", "properties": {"barcode": {"type": "string"}},
                                  "required": ["barcode"]}}, lambda **a: json.dumps({"due": "2026-12-20", **a}))
TIDES = spec_tool({"name": "tide_times", "description": "High and low tide times for a harbour.",
                   "parameters": {"type": "object", "properties": {"harbour": {"type": "string"}},
                                  "required": ["harbour"]}}, lambda **a: "no data")


def test_the_closest_tool_is_called_with_the_models_arguments_and_its_result_quoted():
    llm = ScriptedChatModel(replies=['{"barcode": "B-7719"}'])
    out = react_agent([TIDES, LOANS], model=llm, protocol="router").invoke(
        {"messages": [("human", "can I keep my library book B-7719 a bit longer?")]})
    call = out["messages"][1].tool_calls[0]
    assert (call["name"], call["args"]) == ("renewLoan", {"barcode": "B-7719"})
    assert "Request: can I keep my library book B-7719" in llm.calls[0][-1].content  # args prompt sees the request
    assert out["messages"][-1].content == "Here is what I found: due: 2026-12-20; barcode: B-7719"
    assert len(llm.calls) == 1  # the answer quotes the result without a model call


def test_small_talk_goes_to_the_model_without_a_tool():
    llm = ScriptedChatModel(replies=["Hello! How can I help?"])
    out = react_agent([TIDES, LOANS], model=llm, protocol="router").invoke({"messages": [("human", "hey there :)")]})
    assert [m.type for m in out["messages"]] == ["human", "ai"]
    assert out["messages"][-1].content == "Hello! How can I help?"


def test_tool_text_and_readable_results():
    assert tool_text(LOANS).startswith("renew loan: Renew a borrowed")
    assert readable('{"slots": [{"at": "09:00"}], "open": true}') == "slots: at: 09:00; open: True"
    assert readable("plain text ") == "plain text"


def test_routed_protocol_without_the_scorer_lets_similarity_pick_the_first_tool_and_the_model_go_on():
    # The model tries the distractor first: outside the router's choice, so it is asked again.
    llm = ScriptedChatModel(replies=['{"tool": "tide_times", "args": {"harbour": "x"}}',
                                     '{"tool": "renewLoan", "args": {"barcode": "B-1"}}',
                                     '{"answer": "Renewed B-1 until 2026-12-20."}'])
    out = react_agent([TIDES, LOANS], model=llm, protocol="routed", thoughts=False, tool_scorer=False).invoke(
        {"messages": [("human", "renew my library book B-1 please")]})
    assert "unknown tool 'tide_times'; tools: renewLoan" in llm.calls[1][-1].content
    assert out["messages"][1].tool_calls[0]["args"] == {"barcode": "B-1"}
    assert out["messages"][-1].content == "Renewed B-1 until 2026-12-20."


BOOK = spec_tool({"name": "bookCourt", "description": "Book a tennis court.",
                  "parameters": {"type": "object", "properties": {
                      "day": {"type": "string", "description": "YYYY-MM-DD"},
                      "at": {"type": "string", "description": "start, HH:MM 24h"}}, "required": ["day", "at"]}},
                 lambda **a: json.dumps({"booking": "CT-42", **a}))


def test_routed_protocol_with_the_tool_scorer_decides_each_step_and_the_model_writes_only_the_call():
    # The model copies the human forms; the annotation showed it the machine forms, normalising fixes them.
    llm = ScriptedChatModel(replies=['{"tool": "bookCourt", "args": {"day": "3 July 2026", "at": "4:15pm"}}'])
    out = react_agent([TIDES, LOANS, BOOK], model=llm, protocol="routed", thoughts=False).invoke(
        {"messages": [("human", "book me a tennis court on 3 July 2026 at 4:15pm")]})
    assert "3 July 2026 (2026-07-03) at 4:15pm (16:15)" in llm.calls[0][-1].content
    assert out["messages"][1].tool_calls[0]["args"] == {"day": "2026-07-03", "at": "16:15"}
    # The scorer saw the booking and stopped; the answer quotes the result without a model call.
    assert out["messages"][-1].content == "Here is what I found: booking: CT-42; day: 2026-07-03; at: 16:15"
    assert len(llm.calls) == 1


def test_routed_protocol_with_the_tool_scorer_answers_small_talk_without_a_tool():
    llm = ScriptedChatModel(replies=['{"answer": "Hello! How can I help?"}'])
    out = react_agent([TIDES, LOANS, BOOK], model=llm, protocol="routed", thoughts=False).invoke(
        {"messages": [("human", "hey there, thanks for the help earlier!")]})
    assert [m.type for m in out["messages"]] == ["human", "ai"]
    assert out["messages"][-1].content == "Hello! How can I help?"


def test_an_argument_reply_cut_off_is_a_counted_parse_failure_not_a_crash():
    from plait.agents.prompts import PARSE_GIVE_UP

    llm = ScriptedChatModel(replies=['{"barcode": "B-77'])  # cut off by the token budget
    out = react_agent([TIDES, LOANS], model=llm, protocol="router").invoke(
        {"messages": [("human", "renew my library book B-7719")]})
    assert out["messages"][-1].content == PARSE_GIVE_UP
    assert "renewLoan arguments" in out["messages"][-1].additional_kwargs["plait_parse_error"]
