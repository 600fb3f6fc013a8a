"""Building blocks of the synthetic tool cases: value kinds, id formats, and the Param/Tool/Chain records.

Inside: the case mix and computation constants (DEFAULT_MIX, P_COMPUTE, COMPUTABLE), number words,
months and format hints, ToolDataError, the id formats (:func:`new_id`), the value generators per
kind (GENERATORS, the ``_g_*`` functions) and the compact constructors ``P``, ``T`` and ``C`` the
domain packs (:mod:`plait.agents.tool_domains`) are written with.

Example:
    >>> import random
    >>> P("days", "days num_days", "int", lo=2, hi=7).value(random.Random(0))[1] in range(2, 8)
    True
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from plait.agents.tool_lists import LISTS
from plait.errors import PlaitError

DEFAULT_MIX = {"single": 0.55, "none": 0.15, "two-step": 0.30}
"""Share of each case kind when ``mix`` is not given."""
P_COMPUTE = 0.4
"""Share of tool cases drawn to need a small computation (a number in words, 7pm for HH:MM, ...)."""
COMPUTABLE = {"int", "qty", "party", "minutes", "num", "money", "date", "time", "currency"}
"""Value kinds that have a written form needing a small computation."""


class ToolDataError(PlaitError):
    """A domain pack or generated case breaks the case format (a bug in a template: fix it here)."""


# ---------------------------------------------------------------- values and their surface forms
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
HINTS = {"date": ["ISO date YYYY-MM-DD", "date as YYYY-MM-DD", "YYYY-MM-DD"],
         "time": ["HH:MM 24-hour", "24-hour time HH:MM", "time as HH:MM (24h)"],
         "minutes": ["in minutes", "duration in minutes", "minutes"],
         "currency": ["ISO currency code, e.g. EUR", "3-letter currency code", "currency code like USD"]}
"""Parameter descriptions always shown for these kinds: the value's format depends on them."""
INT_KINDS = {"int", "qty", "party", "minutes"}
NUM_KINDS = {"num", "money", "lat", "lon"}


def _d(r: random.Random, k: int) -> str:
    return "".join(r.choice(string.digits) for _ in range(k))


def _a(r: random.Random, k: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
    return "".join(r.choice(alphabet) for _ in range(k))


def _L(r: random.Random, k: int) -> str:
    return _a(r, k, string.ascii_uppercase)


ID_FORMATS: dict[str, list[Callable[[random.Random], str]]] = {
    "order": [lambda r: f"{_d(r, 2)}-{_L(r, 2)}-{r.randint(1, 9)}", lambda r: f"A-{_d(r, 4)}",
              lambda r: f"ORD-{_d(r, 5)}", lambda r: f"INV {r.randint(2021, 2025)}/{r.randint(10, 99)}",
              lambda r: f"W{_d(r, 7)}", lambda r: f"{_L(r, 3)}{_d(r, 4)}"],
    "tracking": [lambda r: "1Z" + _a(r, 16), lambda r: "JD01" + _d(r, 12), lambda r: f"LX{_d(r, 9)}CN",
                 lambda r: _d(r, 12), lambda r: f"DHL-{_d(r, 8)}"],
    "ticket": [lambda r: f"INC-{_d(r, 5)}", lambda r: f"HD-{_d(r, 4)}", lambda r: f"IT{_d(r, 5)}",
               lambda r: f"SR {_d(r, 6)}"],
    "event": [lambda r: "evt_" + _a(r, 6, "abcdef0123456789"), lambda r: f"EV-{_d(r, 4)}"],
    "track": [lambda r: "trk_" + _a(r, 6, string.ascii_lowercase + string.digits)],
    "flight": [lambda r: r.choice(["SK", "LH", "BA", "KL", "AF", "DL", "UA", "TP", "IB", "AY"]) + str(r.randint(100, 9999))],
    "booking": [lambda r: _a(r, 6), lambda r: f"BK-{_d(r, 5)}"],
    "confirmation": [lambda r: f"HB-{_d(r, 5)}", lambda r: f"CNF{_d(r, 6)}", lambda r: f"{_L(r, 2)}{_d(r, 4)}{_L(r, 1)}"],
    "reservation": [lambda r: f"R-{_d(r, 4)}", lambda r: f"{_L(r, 3)}{_d(r, 3)}", lambda r: f"res_{_d(r, 5)}"],
    "msg": [lambda r: "msg_" + _a(r, 8, "abcdef0123456789")],
    "note": [lambda r: f"note-{_d(r, 3)}", lambda r: f"N{_d(r, 5)}"],
    "task": [lambda r: f"T-{_d(r, 4)}", lambda r: f"task_{_d(r, 3)}", lambda r: f"TD{_d(r, 3)}"],
    "alarm": [lambda r: f"alarm-{_d(r, 2)}", lambda r: f"AL{_d(r, 3)}"],
    "lead": [lambda r: f"L-{_d(r, 5)}", lambda r: f"LEAD{_d(r, 4)}", lambda r: f"00Q{_a(r, 6)}"],
    "leave": [lambda r: f"LR-{r.randint(2024, 2025)}-{_d(r, 3)}", lambda r: f"LV{_d(r, 5)}"],
    "file": [lambda r: "file_" + _a(r, 8, string.ascii_lowercase + string.digits)],
    "showtime": [lambda r: f"st_{_d(r, 5)}"],
    "job": [lambda r: f"JOB-{_d(r, 5)}", lambda r: _d(r, 8), lambda r: f"J{_a(r, 6)}"],
    "product": [lambda r: f"SKU-{_d(r, 5)}", lambda r: f"P{_d(r, 6)}", lambda r: "B0" + _a(r, 8)],
    "quote": [lambda r: "q_" + _a(r, 6, string.ascii_lowercase + string.digits)],
    "ride": [lambda r: "ride_" + _a(r, 6, string.ascii_lowercase + string.digits), lambda r: f"RD-{_d(r, 5)}"],
    "recipe": [lambda r: f"rcp-{_d(r, 4)}"],
    "contact": [lambda r: f"c_{_d(r, 4)}", lambda r: f"CT-{_d(r, 5)}"],
    "payee": [lambda r: f"PAY-{_d(r, 3)}", lambda r: f"py_{_d(r, 4)}"],
    "device": [lambda r: f"dev-{_d(r, 3)}", lambda r: f"D{_d(r, 4)}"],
    "list": [lambda r: f"list_{_d(r, 2)}", lambda r: f"LST-{_d(r, 3)}"],
    "restaurant": [lambda r: f"rest_{_d(r, 4)}", lambda r: f"RS{_d(r, 5)}"],
    "hotel": [lambda r: f"H-{_d(r, 5)}", lambda r: f"htl_{_d(r, 4)}"],
    "article": [lambda r: f"art-{_d(r, 5)}"],
    "food": [lambda r: f"FD{_d(r, 6)}", lambda r: f"{_L(r, 2)}{_d(r, 4)}"],
    "application": [lambda r: f"APP-{_d(r, 5)}"],
    "transfer": [lambda r: f"TX{_d(r, 8)}"],
    "sms": [lambda r: f"sms_{_d(r, 6)}"],
    "folder": [lambda r: f"fld_{_d(r, 5)}"],
}


def new_id(r: random.Random, fmt: str) -> str:
    """A fresh id in one of the formats for ``fmt`` (``"order"`` -> ``"88-KL-2"``, ``"A-1029"``, ...)."""
    return r.choice(ID_FORMATS[fmt])(r)


def _g_int(r: random.Random, p: Param, want: bool) -> tuple[str, Any, bool]:
    if want and p.lo <= 20:
        n = r.randint(p.lo, min(p.hi, 20))
        return WORDS[n], n, True
    n = r.randint(p.lo, p.hi)
    return str(n), n, False


def _g_qty(r: random.Random, p: Param, want: bool) -> tuple[str, Any, bool]:
    if want and r.random() < 0.5:
        return r.choice([("a dozen", 12, True), ("half a dozen", 6, True), ("two dozen", 24, True)])
    return _g_int(r, p, want)


def _g_party(r: random.Random, p: Param, want: bool) -> tuple[str, Any, bool]:
    n = r.randint(2, 8)
    if want:
        return r.choice([(f"me and {WORDS[n - 1]} friends", n, True) if n > 2 else ("me and a friend", 2, True),
                         (f"{WORDS[n]} people", n, True), ("my wife and me", 2, True),
                         (f"{WORDS[n - 1]} colleagues and myself", n, True) if n > 2 else ("my partner and me", 2, True)])
    return r.choice([(f"{n} people", n, False), (f"{n} persons", n, False), (f"a party of {n}", n, False),
                     (f"{n} guests", n, False)])


def _g_minutes(r: random.Random, p: Param, want: bool) -> tuple[str, Any, bool]:
    if want:
        return r.choice([("half an hour", 30, True), ("an hour", 60, True), ("an hour and a half", 90, True),
                         ("two hours", 120, True), ("a quarter of an hour", 15, True), ("45 mins", 45, False),
                         ("one and a half hours", 90, True), ("three quarters of an hour", 45, True)])
    n = r.choice([5, 10, 12, 15, 20, 25, 30, 40, 45, 50, 60, 75, 90])
    return r.choice([(f"{n} minutes", n, False), (f"{n} min", n, False)])


def _g_num(r: random.Random, p: Param, want: bool) -> tuple[str, Any, bool]:
    if want:
        return r.choice([("two and a half", 2.5, True), ("three and a half", 3.5, True), ("one and a quarter", 1.25, True),
                         ("a hundred", 100, True), ("twelve", 12, True), ("seven", 7, True), ("forty", 40, True)])
    x = r.choice([3, 5, 12, 7.5, 100, 42, 0.75, 250, 1.2, 18, 64, 9.5, 20, 350, 1.8, 5000, 26.2])
    return str(x), x, False


def _g_money(r: random.Random, p: Param, want: bool) -> tuple[str, Any, bool]:
    if want:
        return r.choice([("1,200", 1200, True), ("2,500", 2500, True), ("two hundred", 200, True),
                         ("fifty", 50, True), ("1,050.75", 1050.75, True), ("a thousand", 1000, True)])
    x = r.choice([r.randint(5, 900), r.randint(10, 99) * 10, round(r.uniform(5, 500), 2)])
    return str(x), x, False


def _g_date(r: random.Random, p: Param, want: bool) -> tuple[str, Any, bool]:
    y, m, d = r.choice([2025, 2026]), r.randint(1, 12), r.randint(1, 28)
    iso = f"{y}-{m:02d}-{d:02d}"
    if want:
        return r.choice([f"{MONTHS[m - 1]} {d}, {y}", f"{d} {MONTHS[m - 1]} {y}", f"{MONTHS[m - 1][:3]} {d} {y}"]), iso, True
    return iso, iso, False


def _g_time(r: random.Random, p: Param, want: bool) -> tuple[str, Any, bool]:
    h, m = r.randint(6, 22), r.choice([0, 0, 15, 30, 45])
    hhmm = f"{h:02d}:{m:02d}"
    if want:
        h12, ap = (h - 12 if h > 12 else h), ("pm" if h >= 12 else "am")
        if h == 12 and m == 0:
            return r.choice(["noon", "12 noon", "midday"]), hhmm, True
        if m == 0:
            return r.choice([f"{h12}{ap}", f"{h12} {ap}", f"{h12}{ap.upper()}"]), hhmm, True
        return r.choice([f"{h12}:{m:02d} {ap}", f"{h12}:{m:02d}{ap}"]), hhmm, True
    return hhmm, hhmm, False


CURRENCIES = {"EUR": ["euros"], "USD": ["US dollars"], "GBP": ["British pounds", "pounds sterling"], "JPY": ["Japanese yen"],
              "CHF": ["Swiss francs"], "NOK": ["Norwegian kroner"], "CAD": ["Canadian dollars"], "INR": ["Indian rupees"],
              "SEK": ["Swedish kronor"], "AUD": ["Australian dollars"], "MXN": ["Mexican pesos"], "PLN": ["Polish zloty"]}


def _g_currency(r: random.Random, p: Param, want: bool) -> tuple[str, Any, bool]:
    code = r.choice(sorted(CURRENCIES))
    if want:
        return r.choice(CURRENCIES[code]), code, True
    return code, code, False


def _g_enum(r: random.Random, p: Param, want: bool) -> tuple[str, Any, bool]:
    v = r.choice(p.enum)
    return r.choice((p.say or {}).get(v, [v])), v, False


def _g_flag(r: random.Random, p: Param, want: bool) -> tuple[str, Any, bool]:
    yes, no = p.say
    v = (not no) or r.random() < 0.7
    return r.choice(yes if v else no), v, False


def _plain(x: float) -> tuple[str, Any, bool]:
    return str(x), x, False


GENERATORS: dict[str, Callable[[random.Random, Param, bool], tuple[str, Any, bool]]] = {
    "int": _g_int, "qty": _g_qty, "party": _g_party, "minutes": _g_minutes, "num": _g_num, "money": _g_money,
    "date": _g_date, "time": _g_time, "currency": _g_currency, "enum": _g_enum, "flag": _g_flag,
    "lat": lambda r, p, w: _plain(round(r.uniform(-45, 65), 2)),
    "lon": lambda r, p, w: _plain(round(r.uniform(-120, 150), 2)),
}


@dataclass(frozen=True)
class Param:
    """One argument of a tool, with its name variants and how request values for it are made."""

    key: str
    """Canonical key used by templates and result functions."""
    names: tuple[str, ...]
    """Interchangeable argument names; one is drawn per case."""
    kind: str
    """Value generator: a GENERATORS key, ``pick:LIST`` (a value list) or ``id:FORMAT``."""
    opt: bool = False
    """Optional: passed only when the request states it (a ``[...]`` segment of the template)."""
    desc: tuple[str, ...] = ()
    """Description variants, shown sometimes (always for date, time, minutes and currency)."""
    enum: tuple[str, ...] = ()
    """Allowed values for an enum parameter."""
    say: Any = None
    """Surface forms: enum value -> words, or (true phrases, false phrases) for a flag."""
    lo: int = 1
    """Lowest value of an integer parameter."""
    hi: int = 9
    """Highest value of an integer parameter."""

    @property
    def type(self) -> str:
        kind = self.kind.split(":")[0]
        if kind in INT_KINDS:
            return "integer"
        return "number" if kind in NUM_KINDS else "boolean" if kind == "flag" else "string"

    def value(self, r: random.Random, want: bool = False) -> tuple[str, Any, bool]:
        """(text in the request, argument value, whether reading it takes a small computation).

        ``want`` asks for a form that takes reading (words, 12-hour times, long dates) where the kind has one.
        """
        kind, _, arg = self.kind.partition(":")
        if kind == "pick":
            v = r.choice(LISTS[arg])
            return v, v, False
        if kind == "id":
            v = new_id(r, arg)
            return v, v, False
        return GENERATORS[kind](r, self, want)


def P(key: str, names: str, kind: str, **kw: Any) -> Param:
    """A parameter: ``P("city", "city location place", "pick:cities", opt=True)``."""
    desc = kw.pop("desc", ())
    return Param(key, tuple(names.split()), kind, desc=tuple(desc.split("|")) if isinstance(desc, str) else desc,
                 enum=tuple(kw.pop("enum", "").split()) if isinstance(kw.get("enum", ""), str) else kw.pop("enum"), **kw)


@dataclass(frozen=True)
class Tool:
    """One tool of a domain pack: name and description variants, parameters, requests, result and reply."""

    domain: str
    """Domain pack name."""
    key: str
    """Unique key, ``domain.tool``."""
    names: tuple[str, ...]
    """Interchangeable tool names."""
    descs: tuple[str, ...]
    """Description variants (imperative sentences: "Get the ...")."""
    params: tuple[Param, ...]
    """Arguments."""
    reqs: tuple[str, ...]
    """Request templates: ``{key}`` slots, ``[...]`` segments holding optional slots."""
    result: Callable[[dict, random.Random], dict]
    """(args by canonical key, rng) -> the tool's result."""
    answers: tuple[str, ...]
    """Final-reply templates over args and result keys."""
    contains: tuple[str, ...]
    """Keys whose values the reply must contain."""
    nope: tuple[tuple[str, str], ...] = field(default=())
    """(request, what cannot be done) pairs for no-tool cases sounding like this domain."""


def T(key: str, names: str, descs: str, params: list[Param], reqs: str, result: Callable[[dict, random.Random], dict],
      answers: str, contains: str) -> Tool:
    """A tool from compact strings: names space-separated, descriptions/requests/answers ``|``-separated."""
    return Tool(key.split(".")[0], key, tuple(names.split()), tuple(s.strip() for s in descs.split("|")), tuple(params),
                tuple(s.strip() for s in reqs.split("|")), result, tuple(s.strip() for s in answers.split("|")),
                tuple(contains.split()))


@dataclass(frozen=True)
class Chain:
    """A two-step task: the second call takes ``bind`` arguments from the first call's result."""

    first: str
    """Key of the first tool."""
    second: str
    """Key of the second tool."""
    bind: Mapping[str, str]
    """Second tool's parameter key -> first result key."""
    reqs: tuple[str, ...]
    """Request templates over both tools' parameter keys (a key both share gets one value)."""
    answers: tuple[str, ...]
    """Final-reply templates over both calls' args and results."""
    contains: tuple[str, ...]
    """Keys (normally of the last result) the reply must contain."""


def C(first: str, second: str, bind: str, reqs: str, answers: str, contains: str) -> Chain:
    """A chain from compact strings: ``bind="recipient=contact_id lat=lat"``."""
    return Chain(first, second, dict(b.split("=") for b in bind.split()), tuple(s.strip() for s in reqs.split("|")),
                 tuple(s.strip() for s in answers.split("|")), tuple(contains.split()))
