"""Dates, times and numbers in words: annotated for the model to copy, normalised to the argument's schema."""

import pytest

from plait.agents.values import annotate, fix_formats, format_of, normalise_args, normalise_value, words_to_number

DATE = {"type": "string", "description": "date, YYYY-MM-DD"}
TIME = {"type": "string", "description": "time, HH:MM (24h)"}


@pytest.mark.parametrize(("text", "expected"), [
    ("book it for 3 July 2025", "book it for 3 July 2025 (2025-07-03)"),
    ("on March 22, 2026 please", "on March 22, 2026 (2026-03-22) please"),
    ("the 1st of Sept 2027", "the 1st of Sept 2027 (2027-09-01)"),
    ("at 4:15pm", "at 4:15pm (16:15)"),
    ("at 10.30 p.m. sharp", "at 10.30 p.m. (22:30) sharp"),
    ("an alarm for 1PM.", "an alarm for 1PM (13:00)."),
    ("at 12am", "at 12am (00:00)"),
    ("lunch at noon", "lunch at noon (12:00)"),
    ("twelve days off", "twelve (12) days off"),
    ("twenty-five guests", "twenty-five (25) guests"),
    ("one hundred and fifty dollars", "one hundred and fifty (150) dollars"),
    ("two and a half miles", "two and a half (2.5) miles"),
    ("a dozen eggs", "a dozen (12) eggs"),
])
def test_annotate_writes_the_machine_form_beside_the_words(text, expected):
    assert annotate(text) == expected


@pytest.mark.parametrize("text", [
    "cancel order A1001", "at 16:15", "2025-07-03", "I have one question", "13 pm is not a time", "32 July 2025",
])
def test_annotate_leaves_machine_forms_and_non_values_alone(text):
    assert annotate(text) == text


def test_words_to_number_refuses_what_is_not_a_number():
    assert words_to_number("one and a quarter") == 1.25
    assert words_to_number("three quarters") == 0.75
    assert words_to_number("two thousand and five") == 2005
    assert words_to_number("purple") is None


def test_values_are_normalised_only_where_the_schema_asks_for_a_format():
    assert normalise_value("July 3, 2025", DATE) == "2025-07-03"
    assert normalise_value("4:15 pm", TIME) == "16:15"
    assert normalise_value("9:05", TIME) == "09:05"
    assert normalise_value("noon", TIME) == "12:00"
    assert normalise_value("next Tuesday", DATE) == "next Tuesday"  # does not parse: kept, never guessed
    assert normalise_value("4:15pm", {"type": "string"}) == "4:15pm"  # no format asked for
    assert normalise_value(7, DATE) == 7
    schema = {"properties": {"day": DATE, "at": TIME, "who": {"type": "string"}}}
    assert normalise_args({"day": "3 July 2025", "at": "4pm", "who": "Sam", "extra": 1}, schema) == \
        {"day": "2025-07-03", "at": "16:00", "who": "Sam", "extra": 1}


def test_spoken_times_and_dozens_are_annotated():
    assert annotate("at half past three in the afternoon") == "at half past three in the afternoon (15:30)"
    assert annotate("7:30 in the morning") == "7:30 in the morning (07:30)"
    assert annotate("quarter to eight in the evening") == "quarter to eight in the evening (19:45)"
    assert annotate("two dozen prints") == "two dozen (24) prints"


def test_a_date_or_time_argument_holding_something_else_takes_the_requests_one():
    schema = {"properties": {"date": {"type": "string"}, "time": {"type": "string"},
                             "slot": {"type": "string", "description": "start, HH:MM"}, "note": {"type": "string"}}}
    assert format_of("date", {}) == "date" and format_of("slot", schema["properties"]["slot"]) == "time"
    assert format_of("note", {}) is None and format_of("time_window", {"enum": ["a"]}) is None
    assert fix_formats({"date": "2026-06-05", "time": "2026-06-05"}, schema, "wash on 2026-06-05 at 9:15") == \
        {"date": "2026-06-05", "time": "09:15"}
    assert fix_formats({"time": "1234"}, schema, "M-AB 1234 on 24 October at half past two in the afternoon") == \
        {"time": "14:30"}
    assert fix_formats({"time": "x"}, schema, "from 2pm till 6pm") == {"time": "x"}  # two times: no guess
