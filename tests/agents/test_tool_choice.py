"""The tool scorer's data and decisions: cards, step queries, one example per decision, thresholds."""

import pytest

from plait.agents.tool_choice import choice_examples, step_query, threshold_for, tool_card

FIND = {"name": "findPetByOwner", "description": "Finds the pets registered to an owner's phone number.",
        "parameters": {"type": "object", "properties": {"owner_phone": {"type": "string"}}, "required": ["owner_phone"]}}
BOOK = {"name": "book_visit", "description": "Books a vet visit for a pet.",
        "parameters": {"type": "object", "properties": {"pet_id": {"type": "string"}}, "required": ["pet_id"]}}
FAR = {"name": "tideTimes", "description": "High and low tides for a harbour.",
       "parameters": {"type": "object", "properties": {"harbour": {"type": "string"}}, "required": ["harbour"]}}


def test_a_card_reads_the_name_as_words_and_lists_the_arguments():
    assert tool_card(FIND) == ("find pet by owner: Finds the pets registered to an owner's phone number. "
                               "Takes: owner phone.")
    assert tool_card({"name": "ping", "description": "Check the link."}) == "ping: Check the link."


def test_a_step_query_carries_what_each_tool_returned():
    assert step_query(" book Pepper in ") == "book Pepper in"
    query = step_query("book Pepper in", [("findPetByOwner", '{"pets": [{"pet_id": "PET-3", "name": "Pepper"}]}')])
    assert query == "book Pepper in || done find pet by owner -> pets: pet id: PET-3; name: Pepper"
    assert step_query("x", [("t", "not json at all")]) == "x || done t -> not json at all"
    assert len(step_query("x", [("t", {"text": "y" * 1000})])) < 300  # long results are cut


def test_every_decision_of_a_case_becomes_one_example():
    two_step = {"request": "book Pepper in, my number is 0770", "tools": [BOOK, FIND],
                "calls": [{"tool": "findPetByOwner", "args": {}, "result": {"pet_id": "PET-3"}},
                          {"tool": "book_visit", "args": {}, "result": {"ok": True}}]}
    none = {"request": "is chocolate bad for dogs?", "tools": [BOOK, FIND], "calls": []}
    first, second, done, nothing = choice_examples([two_step, none], extra_tools=[FAR], distractors=1)
    assert first["labels"] == [False, True, False] and not first["out_of_scope"]  # FIND first, FAR as distractor
    assert first["units"][2] == tool_card(FAR)
    assert second["question"].endswith("done find pet by owner -> pet id: PET-3")
    assert second["units"][0] == tool_card(BOOK) and second["labels"][0]  # the called tool is no longer offered
    assert tool_card(FIND) not in second["units"]
    assert done["out_of_scope"] and not any(done["labels"]) and done["step"] == 2
    assert nothing["out_of_scope"] and nothing["step"] == 0


def test_the_threshold_maximises_right_decisions():
    # (best similarity, none expected, best tool right)
    scored = [(0.9, False, True), (0.7, False, True), (0.6, True, False), (0.4, True, False), (0.8, False, False)]
    cut, right = threshold_for(scored)
    assert 0.6 < cut <= 0.7  # both "none" cases right, 2 of 3 tool cases (no threshold fixes the wrong tool)
    assert right == {"none_right": 1.0, "tool_right": 0.6667}
    many = [*scored, (0.55, False, True), (0.56, False, True), (0.57, False, True)]
    assert threshold_for(many)[0] <= 0.55  # three more tool cases at 0.55-0.57 outweigh one "none" case at 0.6
    assert threshold_for([(0.9, False, True), (0.2, False, True)])[1] == {"none_right": 1.0, "tool_right": 1.0}


# ---------------------------------------------------------------- the packaged scorer (real MiniLM + adapter)
def _tools():
    from plait.agents.tool_training import spec_tool

    return [spec_tool(FIND), spec_tool(BOOK), spec_tool(FAR)]


@pytest.mark.real
def test_the_packaged_scorer_picks_the_tool_a_request_needs_or_none():
    from plait.agents.tool_choice import ToolChooser

    chooser, tools = ToolChooser.packaged(), _tools()
    assert chooser.choose("when is high tide in Whitby harbour today?", tools).name == "tideTimes"
    assert chooser.choose("which pets are registered to 07700 900461?", tools).name == "findPetByOwner"
    assert chooser.choose("thanks, that's all for today!", tools) is None
    assert chooser.choose("who wrote Pride and Prejudice?", tools) is None


@pytest.mark.real
def test_after_a_result_the_scorer_calls_the_tool_that_takes_it_or_stops():
    from plait.agents.tool_choice import ToolChooser

    chooser, tools = ToolChooser.packaged(), _tools()
    request = "my number is 07700 900461, please book a vet visit for my cat Pepper"
    found = [("findPetByOwner", '{"pets": [{"pet_id": "PET-3150", "name": "Pepper"}]}')]
    assert chooser.choose(request, tools, found).name == "book_visit"
    booked = [*found, ("book_visit", '{"visit_id": "V-88", "pet_id": "PET-3150"}')]
    assert chooser.choose(request, tools, booked) is None
    assert chooser.choose("when is high tide in Whitby?", tools, [("tideTimes", '{"high": "14:02"}')]) is None
