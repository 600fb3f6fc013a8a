"""Argument values checked against what the request and results state; copied when invented."""

import json

import pytest

from plait.agents import react_agent
from plait.agents.grounding import check_call, context_of, copy_only, copy_spans, grounded, implied, result_values, spans
from plait.agents.tool_training import spec_tool
from plait.testing import ScriptedChatModel

SCHEMA = {"type": "object", "properties": {"start": {"type": "string", "description": "HH:MM"},
                                           "title": {"type": "string"}, "room": {"type": "string"},
                                           "kind": {"type": "string", "enum": ["talk", "meeting"]},
                                           "minutes": {"type": "integer"}},
          "required": ["start", "title"]}


def test_grounded_ignores_case_and_spacing_but_not_content():
    assert grounded("Lunch  with SAM", "put lunch with sam in my calendar")
    assert not grounded("Toronto", "deliver four pad thai")
    assert not grounded("  ", "anything")
    assert grounded(4, "no number here")  # only strings are checked
    assert grounded("CHF", "1,200 Swiss francs in euros")  # codes are written, not copied
    assert not grounded("Swiss", "1,200 euros")


def test_invented_optional_values_are_dropped_and_invented_required_ones_flagged():
    context = context_of("add Standup at 10pm, 50 minutes", [])
    args, again = check_call({"start": "02:00", "title": "Standup", "room": "Room 4", "kind": "meeting",
                              "minutes": 50}, SCHEMA, context)
    assert args == {"start": "02:00", "title": "Standup", "kind": "meeting", "minutes": 50}  # room dropped
    assert again == ["start"]  # "02:00" is nowhere; the annotation "(22:00)" is
    assert check_call({"start": "22:00", "title": "standup"}, SCHEMA, context) == \
        ({"start": "22:00", "title": "standup"}, [])


def test_copy_spans_offer_result_values_and_request_spans_with_annotations():
    results = [json.dumps({"event": {"id": "evt-9", "when": "22:00"}, "ok": True})]
    assert result_values(results) == ["evt-9", "22:00"]
    assert result_values(["plain text"]) == ["plain text"]
    choices = copy_spans("move it to 10pm please", results)
    assert choices[:2] == ["evt-9", "22:00"] and "10pm" in choices and "move it to 10pm" in choices
    assert "22:00" in copy_spans("move it to 10pm", [])  # from the annotation "10pm (22:00)"
    assert len(spans("word " * 500)) <= 400


def test_copy_only_restricts_the_named_arguments_to_the_choices():
    narrow = copy_only(SCHEMA, ["start"], ["22:00", "10pm"])
    assert narrow["properties"]["start"] == {"type": "string", "description": "HH:MM", "enum": ["22:00", "10pm"]}
    assert narrow["properties"]["title"] == SCHEMA["properties"]["title"]
    assert "enum" not in SCHEMA["properties"]["start"]  # the tool's own schema is untouched


@pytest.mark.real  # the packaged tool scorer decides the step
def test_an_invented_required_value_is_written_again_copying_only():
    add = spec_tool({"name": "add_event", "description": "Add an event to the calendar.", "parameters": SCHEMA},
                    lambda **a: json.dumps({"id": "evt-1", **a}))
    llm = ScriptedChatModel(replies=['{"tool": "add_event", "args": {"start": "02:00", "title": "Standup", '
                                     '"room": "Room 4"}}',
                                     '{"tool": "add_event", "args": {"start": "22:00", "title": "Standup"}}'])
    out = react_agent([add], model=llm, protocol="routed", thoughts=False).invoke(
        {"messages": [("human", "add Standup to my calendar at 10pm")]})
    assert out["messages"][1].tool_calls[0]["args"] == {"start": "22:00", "title": "Standup"}
    assert len(llm.calls) == 2  # the first reply, then the copy-only retry


FLAGS = {"properties": {"query": {"type": "string"}, "indoor": {"type": "boolean"},
                        "available_only": {"type": "boolean"}, "reason": {"type": "string"},
                        "format": {"type": "string", "enum": ["book", "audiobook", "dvd"]}},
         "required": ["query"]}


def test_implied_options_come_from_the_request_words():
    assert implied({"query": "Dune"}, FLAGS, "any audiobooks of Dune available right now?", "search") == \
        {"query": "Dune", "format": "audiobook", "available_only": True}
    assert implied({"query": "fig"}, FLAGS, "care of a fig, not indoors", "get_guide") == {"query": "fig"}
    assert implied({"query": "Dune", "format": "dvd"}, FLAGS, "Dune please", "search") == {"query": "Dune"}
    assert implied({"query": "Dune", "format": "dvd"}, FLAGS, "Dune as a book", "search") == \
        {"query": "Dune", "format": "book"}
    assert implied({"query": "APT-3", "reason": "cancel"}, FLAGS, "cancel APT-3 pls", "cancel_booking") == \
        {"query": "APT-3"}
    assert implied({"query": "APT-3", "reason": "moving away"}, FLAGS, "cancel APT-3, moving away",
                   "cancel_booking") == {"query": "APT-3", "reason": "moving away"}


def test_an_optional_number_in_a_unit_takes_the_quantity_the_request_states():
    schema = {"properties": {"summary": {"type": "string"}, "length_min": {"type": "integer"},
                             "guests": {"type": "integer"}}, "required": ["summary"]}
    assert implied({"summary": "Standup"}, schema, "Standup at 10, it'll take 50 min", "create_event") == \
        {"summary": "Standup", "length_min": 50}
    assert implied({"summary": "Standup"}, schema, "Standup at 10 for 4 people", "create_event") == \
        {"summary": "Standup"}  # no unit stated, nothing added; a bare count is never a guess


def test_a_first_name_holding_the_last_name_too_keeps_the_first_only():
    from plait.agents.grounding import names_apart

    assert names_apart({"firstName": "Tobias Lindqvist", "lastName": "Lindqvist"}) == \
        {"firstName": "Tobias", "lastName": "Lindqvist"}
    assert names_apart({"first_name": "Ann", "last_name": "Lee"}) == {"first_name": "Ann", "last_name": "Lee"}
    assert names_apart({"name": "Ann Lee"}) == {"name": "Ann Lee"}
