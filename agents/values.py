"""Values a request states in words, written out the way tool arguments take them.

A 270M model copies well and converts badly: asked for ``time: HH:MM (24h)`` after "at 4:15pm"
it writes ``15:15``. So before the model writes a call, :func:`annotate` puts the machine form
next to each date, time and number written in words ("3 July 2025 (2025-07-03) at 4:15pm
(16:15)", "twelve (12) days"), and the model only has to copy. After it has written the call,
:func:`normalise_args` converts what is still in a human form into the form the argument's
schema describes (``YYYY-MM-DD``, ``HH:MM``). Nothing is guessed: a value that does not parse
is left as it is.

Example:
    >>> annotate("book PET-0417 for 3 July 2025 at 4:15pm, twelve nights")
    'book PET-0417 for 3 July 2025 (2025-07-03) at 4:15pm (16:15), twelve (12) nights'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MONTHS = {m: i for i, names in enumerate(
    [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
     ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
     ("november", "nov"), ("december", "dec")], start=1) for m in names}
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
DATES = [re.compile(rf"\b{_DAY}(?:\s+of)?\s+{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),
         re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.IGNORECASE)]
"""'3 July 2025', '3rd of July, 2025', 'July 3, 2025', 'Jul 3rd 2025'."""
TIME = re.compile(r"\b(?P<hour>[01]?\d)(?:[:.](?P<minute>[0-5]\d))?\s*(?:(?P<half>[ap])\.m\.|(?P<half2>[ap])\s?m\b)", re.IGNORECASE)
"""'4:15pm', '10.30 p.m.', '1PM', '9 am'."""
NAMED_TIMES = {"noon": "12:00", "midday": "12:00", "midnight": "00:00"}
_HOURS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
SPOKEN_TIME = re.compile(
    r"\b(?:(?P<part>half|(?:a\s+)?quarter)\s+(?P<rel>past|to)\s+)?(?P<hour>1[0-2]|0?[1-9]|" + "|".join(_HOURS) + r")"
    r"(?::(?P<minute>[0-5]\d))?(?:\s*o'?clock)?\s+(?P<period>in\s+the\s+(?:morning|afternoon|evening)|at\s+night|tonight)\b",
    re.IGNORECASE)
"""'half past three in the afternoon', '7:30 in the morning', 'quarter to eight in the evening', 'ten at night'."""

UNITS = {w: i for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"])}
TENS = {w: 10 * i for i, w in enumerate(["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"], start=2)}
SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
FRACTIONS = {"half": 0.5, "quarter": 0.25, "third": 1 / 3}
_WORD = "|".join(sorted([*UNITS, *TENS, *SCALES], key=len, reverse=True))
NUMBER_WORDS = re.compile(
    rf"\b(?:a\s+dozen|(?:two|three|four|five|six)\s+dozen|dozen|(?:a|one|two|three)\s+quarters?|(?:{_WORD})(?:(?:[\s-]+|\s+and\s+)(?:{_WORD}))*"
    r"(?:\s+and\s+an?\s+(?:half|quarter|third))?|an?\s+half)\b", re.IGNORECASE)
"""Numbers in words: 'twelve', 'twenty-five', 'one hundred and fifty', 'two and a half', 'a dozen',
'three quarters', 'two dozen'."""
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CLOCK = re.compile(r"^(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)$")


def _date(match: re.Match[str]) -> str | None:
    day, month, year = int(match["day"]), MONTHS[match["month"].lower().rstrip(".")], int(match["year"])
    return f"{year:04d}-{month:02d}-{day:02d}" if 1 <= day <= 31 else None


def _time(match: re.Match[str]) -> str | None:
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    if not 1 <= hour <= 12:
        return None
    hour = hour % 12 + (12 if (match["half"] or match["half2"]).lower() == "p" else 0)
    return f"{hour:02d}:{minute:02d}"


def _spoken_time(match: re.Match[str]) -> str | None:
    word = match["hour"].lower()
    hour, minute = (_HOURS.index(word) + 1 if word in _HOURS else int(word)), int(match["minute"] or 0)
    if match["part"]:
        minute = 30 if match["part"].lower() == "half" else 15
        if match["rel"].lower() == "to":
            hour, minute = hour - 1 or 12, 60 - minute
    afternoon = "morning" not in match["period"].lower()
    hour = hour % 12 + (12 if afternoon else 0)
    return f"{hour:02d}:{minute:02d}"


def words_to_number(text: str) -> float | None:
    """'twenty-five' -> 25, 'one hundred and fifty' -> 150, 'two and a half' -> 2.5, 'a dozen' -> 12.

    Example:
        >>> words_to_number("one and a quarter"), words_to_number("three quarters"), words_to_number("purple")
        (1.25, 0.75, None)
    """
    words = re.sub(r"[-\s]+", " ", text.lower()).replace(" and ", " ").split()
    if words in (["a", "dozen"], ["dozen"]):
        return 12
    if len(words) > 1 and words[-1] == "dozen" and (count := words_to_number(" ".join(words[:-1]))) is not None:
        return count * 12
    if len(words) == 2 and words[1] in ("quarter", "quarters") and words[0] in ("a", "one", "two", "three"):
        return {"a": 1, "one": 1, "two": 2, "three": 3}[words[0]] * 0.25
    if len(words) == 2 and words[1] == "half" and words[0] in ("a", "an"):
        return 0.5
    fraction = 0.0
    if len(words) >= 3 and words[-1] in FRACTIONS and words[-2] in ("a", "an"):
        fraction, words = FRACTIONS[words[-1]], words[:-2]
    total = current = 0
    seen = False
    for word in words:
        if word in UNITS:
            current += UNITS[word]
        elif word in TENS:
            current += TENS[word]
        elif word in SCALES:
            current = max(current, 1) * SCALES[word]
            if SCALES[word] >= 1000:
                total, current = total + current, 0
        else:
            return None
        seen = True
    if not seen:
        return None
    value = total + current + fraction
    return int(value) if value == int(value) else round(value, 4)


def _number(match: re.Match[str]) -> str | None:
    value = words_to_number(match.group(0))
    if value is None or match.group(0).lower() in ("one", "a half", "an half"):  # "one of my orders": not a quantity
        return None
    return str(value)


def annotate(text: str) -> str:
    """``text`` with the machine form in brackets after each date, time and number written in words.

    Example:
        >>> annotate("July 4th, 2026 at noon for two and a half hours")
        'July 4th, 2026 (2026-07-04) at noon (12:00) for two and a half (2.5) hours'
        >>> annotate("pickup at half past three in the afternoon")
        'pickup at half past three in the afternoon (15:30)'
    """
    spans: list[tuple[int, int, str]] = []

    def add(pattern: re.Pattern[str], convert: Any) -> None:
        for match in pattern.finditer(text):
            value = convert(match)
            if value and not any(s < match.end() and match.start() < e for s, e, _ in spans):
                spans.append((match.start(), match.end(), value))

    for pattern in DATES:
        add(pattern, _date)
    add(SPOKEN_TIME, _spoken_time)
    add(TIME, _time)
    add(re.compile(r"\b(" + "|".join(NAMED_TIMES) + r")\b", re.IGNORECASE), lambda m: NAMED_TIMES[m.group(1).lower()])
    add(NUMBER_WORDS, _number)
    for start, end, value in sorted(spans, reverse=True):
        if text[end:end + len(value) + 3].lstrip(" (").startswith(value):  # already written out
            continue
        text = f"{text[:end]} ({value}){text[end:]}"
    return text


def _wants(spec: Mapping[str, Any], *marks: str) -> bool:
    hint = f"{spec.get('format', '')} {spec.get('description', '')}".lower()
    return any(mark in hint for mark in marks)


def normalise_value(value: Any, spec: Mapping[str, Any]) -> Any:
    """One argument value in the form its schema describes (dates ``YYYY-MM-DD``, times ``HH:MM``).

    Example:
        >>> normalise_value("3 July 2025", {"type": "string", "description": "date, YYYY-MM-DD"})
        '2025-07-03'
        >>> normalise_value("4:15pm", {"type": "string", "description": "time, HH:MM (24h)"})
        '16:15'
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if (_wants(spec, "yyyy-mm-dd", "date") or spec.get("format") == "date") and not ISO_DATE.match(text):
        for pattern in DATES:
            if (m := pattern.fullmatch(text)) is not None and (iso := _date(m)):
                return iso
    if _wants(spec, "hh:mm", "24h", "24-hour") or spec.get("format") == "time":
        if (m := TIME.fullmatch(text)) is not None and (clock := _time(m)):
            return clock
        if text.lower() in NAMED_TIMES:
            return NAMED_TIMES[text.lower()]
        if (m := CLOCK.match(text)) is not None:
            return f"{int(m['hour']):02d}:{m['minute']}"
    return value


def normalise_args(args: Mapping[str, Any], schema: Mapping[str, Any], request: str = "") -> dict[str, Any]:
    """Every argument through :func:`normalise_value` with its property schema; unknown keys kept as they are.

    With ``request``, a number whose argument takes a unit becomes the quantity the request states
    in that unit (:func:`plait.agents.quantities.convert_value`: "an hour and a half" -> 90 minutes).
    """
    from plait.agents.quantities import convert_value  # it reads this module's patterns

    props = schema.get("properties") or {}
    return {k: convert_value(normalise_value(v, props.get(k) or {}), props.get(k) or {}, k, request)
            for k, v in args.items()}


ISO_IN_TEXT = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
CLOCK_IN_TEXT = re.compile(r"(?<![\d:])(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)(?![\d:])")


def format_of(name: str, spec: Mapping[str, Any]) -> str | None:
    """``"date"`` or ``"time"`` for an argument that takes one (by its format, description or last name word)."""
    if spec.get("type", "string") != "string" or "enum" in spec:
        return None
    last = re.split(r"[^a-z]+", re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower())[-1]
    if spec.get("format") == "date" or _wants(spec, "yyyy-mm-dd") or last == "date":
        return "date"
    if spec.get("format") == "time" or _wants(spec, "hh:mm") or last == "time":
        return "time"
    return None


def fix_formats(args: Mapping[str, Any], schema: Mapping[str, Any], request: str) -> dict[str, Any]:
    """A date or time argument holding something else (a date in ``start_time``) takes the request's one date or time.

    Example:
        >>> schema = {"properties": {"date": {"type": "string"}, "start_time": {"type": "string"}}}
        >>> fix_formats({"date": "2026-06-03", "start_time": "2026-06-03"}, schema, "3 June 2026 at 7:30 in the morning")
        {'date': '2026-06-03', 'start_time': '07:30'}
    """
    annotated = annotate(request)
    found = {"date": set(ISO_IN_TEXT.findall(annotated)),
             "time": {f"{int(m['hour']):02d}:{m['minute']}" for m in CLOCK_IN_TEXT.finditer(annotated)}}
    valid = {"date": ISO_DATE.match, "time": CLOCK.match}
    out = dict(args)
    for name, value in args.items():
        kind = format_of(name, (schema.get("properties") or {}).get(name) or {})
        if kind and not (isinstance(value, str) and valid[kind](value.strip())) and len(found[kind]) == 1:
            out[name] = next(iter(found[kind]))
    return out
