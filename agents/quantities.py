"""Quantities a request states with a unit, converted to the unit an argument takes.

"Add an hour and a half to my parking" means ``extra_minutes: 90``; "half a litre" means
``amount_ml: 500``; "from 2pm till 6pm" means ``hours: 4``. A 270M model copies the number it
sees (``1.5``, ``5``, ``14``). Here the request's quantities are read with their units
(:func:`quantities`), an argument's unit is read from its name or description (:func:`unit_of`),
and a value the model wrote is replaced when the request states exactly one quantity of that
kind and the value is not it (:func:`convert_value`). Nothing is guessed from numbers without units.

Example:
    >>> quantities("add an hour and a half, then 200 ml")
    [('time', 90.0), ('volume', 200.0)]
    >>> convert_value(15, {"type": "integer"}, "extra_minutes", "add an hour and a half please")
    90
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from plait.agents.values import CLOCK, NUMBER_WORDS, TIME, words_to_number

UNITS: dict[str, tuple[str, float]] = {
    **{u: ("time", 1 / 60) for u in ("s", "sec", "secs", "second", "seconds")},
    **{u: ("time", 1.0) for u in ("min", "mins", "minute", "minutes")},
    **{u: ("time", 60.0) for u in ("h", "hr", "hrs", "hour", "hours")},
    **{u: ("time", 1440.0) for u in ("day", "days", "night", "nights")},
    **{u: ("time", 10080.0) for u in ("week", "weeks")},
    **{u: ("volume", 1.0) for u in ("ml", "millilitre", "millilitres", "milliliter", "milliliters")},
    **{u: ("volume", 10.0) for u in ("cl", "centilitre", "centilitres")},
    **{u: ("volume", 1000.0) for u in ("l", "litre", "litres", "liter", "liters")},
    **{u: ("length", 1.0) for u in ("m", "metre", "metres", "meter", "meters")},
    **{u: ("length", 1000.0) for u in ("km", "kms", "kilometre", "kilometres", "kilometer", "kilometers")},
    **{u: ("mass", 1.0) for u in ("g", "gram", "grams")},
    **{u: ("mass", 1000.0) for u in ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms")},
}
"""Unit word -> (kind, size in the kind's base unit: minutes, millilitres, metres, grams)."""
_UNIT = "|".join(sorted(map(re.escape, UNITS), key=len, reverse=True))
_AMOUNT = rf"(?P<num>\d+(?:[.,]\d+)?|{NUMBER_WORDS.pattern[2:-2]}|an?|half\s+an?|(?:a\s+)?quarter\s+of\s+an?)"
QUANTITY = re.compile(rf"\b{_AMOUNT}\s*-?\s*(?P<unit>{_UNIT})\b(?P<tail>\s+and\s+an?\s+(?:half|quarter))?",
                      re.IGNORECASE)
"""'45 minutes', 'an hour and a half', 'half a litre', '2.5 km', 'twenty mins', '1h'."""
RANGE = re.compile(rf"(?P<a>{TIME.pattern}|\b\d{{1,2}}:\d\d\b)\s*(?:-|–|to|till|until|til)\s*"
                   rf"(?P<b>{TIME.pattern.replace('?P<', '?P<b_')}|\b\d{{1,2}}:\d\d\b)", re.IGNORECASE)
"""A time range: 'from 2pm till 6pm', '14:00-17:30' (its length is a duration)."""


def _amount(text: str) -> float | None:
    text = " ".join(text.lower().split())
    if text in ("a", "an"):
        return 1.0
    if text.startswith("half"):
        return 0.5
    if "quarter of" in text:
        return 0.25
    if re.fullmatch(r"\d+(?:[.,]\d+)?", text):
        return float(text.replace(",", "."))
    value = words_to_number(text)
    return None if value is None else float(value)


def _minutes(clock: str) -> int | None:
    match = TIME.fullmatch(clock.strip())
    if match is not None:
        hour = int(match["hour"]) % 12 + (12 if (match["half"] or match["half2"]).lower() == "p" else 0)
        return hour * 60 + int(match["minute"] or 0)
    match = CLOCK.fullmatch(clock.strip())
    return None if match is None else int(match["hour"]) * 60 + int(match["minute"])


def quantities(text: str) -> list[tuple[str, float]]:
    """Every quantity with a unit in ``text`` as ``(kind, amount in the base unit)``; time ranges as durations.

    Amounts in a row of the same kind add up ("1 hour 30 minutes" is 90 minutes).
    """
    out: list[tuple[str, float]] = []
    last_end = -10
    for match in QUANTITY.finditer(text):
        amount = _amount(match["num"])
        if amount is None:
            continue
        kind, size = UNITS[match["unit"].lower()]
        if match["tail"]:
            amount += 0.5 if "half" in match["tail"].lower() else 0.25
        value = amount * size
        joined = text[last_end:match.start()].strip(" ,").lower() in ("", "and")
        if out and joined and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + value)
        else:
            out.append((kind, value))
        last_end = match.end()
    for match in RANGE.finditer(text):
        start, end = _minutes(match["a"]), _minutes(match["b"])
        if start is not None and end is not None:
            out.append(("time", float((end - start) % 1440)))
    return out


def unit_of(name: str, spec: Mapping[str, Any]) -> tuple[str, float] | None:
    """The unit a numeric argument takes, from its name (``extra_minutes``, ``amount_ml``) or description."""
    parts = re.split(r"[^a-z]+", re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower())
    for word in reversed(parts):
        if word in UNITS and len(word) > 1:
            return UNITS[word]
    described = re.findall(r"[a-z]+", str(spec.get("description") or "").lower())
    found = {UNITS[w] for w in described if w in UNITS and len(w) > 2}
    return found.pop() if len(found) == 1 else None


def convert_value(value: Any, spec: Mapping[str, Any], name: str, request: str) -> Any:
    """``value`` replaced by the one quantity of its kind the request states, in the argument's unit.

    Kept as it is when it already matches a stated quantity, when the argument has no unit, or
    when the request states none or several of that kind.
    """
    if spec.get("type") not in ("integer", "number") or isinstance(value, bool) or not request:
        return value
    stated = stated_quantity(name, spec, request)
    if stated is None or (isinstance(value, int | float) and round(float(value), 6) == stated):
        return value
    return stated


def stated_quantity(name: str, spec: Mapping[str, Any], request: str) -> int | float | None:
    """The one quantity the request states in the kind of unit ``name`` takes, in that unit; else None.

    Example:
        >>> stated_quantity("length_min", {"type": "integer"}, "on 2025-02-27 at 22:00, it'll take 50 min")
        50
    """
    unit = unit_of(name, spec) if spec.get("type") in ("integer", "number") else None
    if unit is None:
        return None
    stated = {round(amount / unit[1], 6) for kind, amount in quantities(request) if kind == unit[0]}
    if len(stated) != 1:
        return None
    value = stated.pop()
    if value == int(value):
        return int(value)
    return None if spec.get("type") == "integer" else value
