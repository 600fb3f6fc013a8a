"""Quantities with units read from a request and converted to the unit an argument takes."""

import pytest

from plait.agents.quantities import convert_value, quantities, unit_of
from plait.agents.values import normalise_args

MINUTES = {"type": "integer", "description": "extra time"}


@pytest.mark.parametrize(("text", "expected"), [
    ("an hour and a half", [("time", 90.0)]),
    ("1 hour 30 minutes", [("time", 90.0)]),
    ("half a litre", [("volume", 500.0)]),
    ("ran 8.2 km in 45 min", [("length", 8200.0), ("time", 45.0)]),
    ("from 2pm till 6pm", [("time", 240.0)]),
    ("14:00-17:30", [("time", 210.0)]),
    ("twenty mins", [("time", 20.0)]),
    ("three overdue books", []),
])
def test_quantities_are_read_with_their_units(text, expected):
    assert quantities(text) == expected


def test_the_argument_unit_comes_from_its_name_or_description():
    assert unit_of("extra_minutes", {}) == ("time", 1.0)
    assert unit_of("amountMl", {}) == ("volume", 1.0)
    assert unit_of("hours", {}) == ("time", 60.0)
    assert unit_of("length", {"description": "duration in minutes"}) == ("time", 1.0)
    assert unit_of("count", {"description": "number of guests"}) is None


def test_a_value_becomes_the_one_stated_quantity_in_the_argument_unit():
    assert convert_value(15, MINUTES, "extra_minutes", "add an hour and a half") == 90
    assert convert_value(14, {"type": "integer"}, "hours", "GZ-12 from 2pm till 6pm") == 4
    assert convert_value(5, {"type": "integer"}, "amount_ml", "half a litre with feed") == 500
    assert convert_value(1.5, {"type": "number"}, "hours", "an hour and a half") == 1.5  # already right
    assert convert_value(3, {"type": "integer"}, "guests", "3 people for 2 hours") == 3  # no unit: untouched
    assert convert_value(30, MINUTES, "minutes", "20 minutes then 30 minutes") == 30  # stated, kept
    assert convert_value(25, MINUTES, "minutes", "20 minutes then 30 minutes") == 25  # two stated: no guess


def test_normalise_args_converts_with_the_request():
    schema = {"properties": {"extra_minutes": {"type": "integer"}, "session_id": {"type": "string"}}}
    assert normalise_args({"session_id": "PS-1", "extra_minutes": 15}, schema, "an hour and a half more on PS-1") \
        == {"session_id": "PS-1", "extra_minutes": 90}
    assert normalise_args({"extra_minutes": 15}, schema) == {"extra_minutes": 15}
