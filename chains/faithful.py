"""Faithfulness check: is every number, price, duration and yes/no in an answer backed by its evidence?

A small model writing from evidence still swaps £6.95 for £3.95, "5 years" for "12 months",
or says "Yes" where the evidence says "we can't". The check is deliberately literal:

- the answer must be about the first evidence unit, the best match for the question (share
  at least as many words with it as with any other unit);
- every number in the answer (prices, counts, times; "five" counts as 5) must occur in that
  unit, and a number with a time unit ("12 months") must occur with that unit;
- the answer's polarity (a leading yes/no, or a negation) must match that unit's;
- most of the answer's content words must come from the evidence (nothing invented around), and
  it must carry some of it: a number the evidence states, or at least ``MIN_SHARED_WORDS`` of its
  words ("Yes, you can." answers nothing);
- a hedge ("I'm not sure") is not an answer.

A rejected answer is replaced by the evidence itself (see :func:`plait.chains.rag`).

Example:
    >>> check_answer("Express delivery costs £9.95.", ["Service: Express delivery; Price: £6.95"]).ok
    False
    >>> check_answer("Express delivery is £6.95.", ["Service: Express delivery; Price: £6.95"]).ok
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_WORD_NUMBERS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
                 "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fourteen": "14",
                 "thirty": "30", "sixty": "60", "ninety": "90", "hundred": "100"}
_UNITS = {"minute": "minute", "min": "minute", "hour": "hour", "hr": "hour", "day": "day", "week": "week",
          "month": "month", "year": "year", "yr": "year"}
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(?:\s*(am|pm|%))?(?:[\s-]+(?:working\s+|business\s+|calendar\s+)?"
                     r"(minute|min|hour|hr|day|week|month|year|yr)s?\b)?", re.I)
_NEGATION = re.compile(r"\b(?:not|no|never|cannot|can't|won't|don't|doesn't|isn't|aren't|unable|nor|without)\b"
                       r"|n't\b|\bnon-", re.I)
_CITATION = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_YES_NO = re.compile(r"^\s*(yes|no)\b[\s,.!:;-]*", re.I)
STOPWORDS = frozenset("a an the and or of to in on for with by at from is are be it its this that you your we our us "
            "can will may do does if as i my me so up any all".split())
SUPPORTED_SHARE = 0.6
"""Share of the answer's content words that must occur in the evidence."""
MIN_SHARED_WORDS = 2
"""Content words an answer without a number must share with the evidence."""
_HEDGE = re.compile(r"\b(not sure|don't know|do not know|no idea|can't say|cannot say|unsure)\b", re.I)


@dataclass(frozen=True)
class Verdict:
    """The check's result; ``reasons`` say what was not supported."""

    ok: bool
    reasons: list[str] = field(default_factory=list)


def _words_to_digits(text: str) -> str:
    return re.sub(r"\b(" + "|".join(_WORD_NUMBERS) + r")\b", lambda m: _WORD_NUMBERS[m.group(1).lower()], text,
                  flags=re.I)


def claims(text: str) -> set[tuple[str, str]]:
    """(number, unit) pairs in ``text``; unit is '' for bare numbers and prices, 'am'/'pm'/'%' for those."""
    found = set()
    for match in _NUMBER.finditer(_words_to_digits(text)):
        number = match.group(1).replace(",", "")
        unit = (match.group(2) or "").lower() or _UNITS.get((match.group(3) or "").lower(), "")
        found.add((number.rstrip("0").rstrip(".") if "." in number else number, unit))
    return found


def _content(text: str) -> list[str]:
    # Words only: numbers are checked as claims, and "£3"/"95" shards would tie unrelated rows.
    return [w for w in re.findall(r"[a-z]+", text.lower()) if w not in STOPWORDS and len(w) > 1]


def negated(text: str) -> bool:
    """Whether ``text`` says no: a leading "No", or a negation word."""
    lead = _YES_NO.match(text)
    if lead:
        return lead.group(1).lower() == "no" or bool(_NEGATION.search(text[lead.end():]))
    return bool(_NEGATION.search(text))


def check_answer(answer: str, evidence: list[str]) -> Verdict:
    """Check ``answer`` against ``evidence``, the unit texts it was written from, best match first:
    the answer must be about that first unit (share most words with it). [n] citations are ignored."""
    answer = _CITATION.sub("", answer)
    if not answer.strip() or not evidence:
        return Verdict(False, ["empty answer or no evidence"])
    reasons = []
    words = _content(_YES_NO.sub("", answer))
    overlap = [len(set(words) & set(_content(e))) for e in evidence]
    # Numbers must come from the best match, not from any unit: "Express costs £3.95" is wrong
    # even when the standard delivery row beside it says £3.95, and a bare "200 x 200" that shares
    # no words with any unit must still be the best match's figure.
    best = evidence[0]
    known = claims(best)
    bare = {number for number, _ in known}
    for number, unit in sorted(claims(answer)):
        if (number, unit) not in known and not (unit in ("", "%") and number in bare):
            reasons.append(f"{number}{' ' + unit if unit else ''} is not in the evidence it talks about")
    pool = set(_content(" ".join(evidence)))
    shared = sum(w in pool for w in words)
    if words and shared / len(words) < SUPPORTED_SHARE:
        reasons.append("most of the answer's words are not in the evidence")
    if not (claims(answer) & known) and len(set(words) & pool) < MIN_SHARED_WORDS:
        reasons.append("the answer carries nothing from the evidence")
    if _HEDGE.search(answer):
        reasons.append("the answer hedges instead of answering")
    if overlap[0] < max(overlap):
        reasons.append("the answer is about other evidence than the best match for the question")
    if negated(answer) != negated(best):
        reasons.append(f"the answer says {'no' if negated(answer) else 'yes'} where the evidence does not")
    return Verdict(not reasons, reasons)
