"""A lookup first when the chosen tool needs an id the request does not give.

"Renew my copy of Dune, member number 88213" asks for ``renew_loan(loan_id)``, but no loan id
is stated: a small model writes ``loan_id: "88213"`` (the member number) and the call fails.
People do this in two steps, and so does the agent: when a required id-like argument of the
chosen tool (``loan_id``, ``pet_id``, ``booking_ref``) is not stated as such in the request or a
result, the turn first calls a tool that *finds* that kind of thing (one whose name or description
names it: ``getMemberLoans``, "Lists the member's loans with their loan ids"), then the chosen
tool with the id copied from that result. Decided from the schemas alone, so it works for tools
no model was trained on; nothing changes when the request states the id.

Example:
    >>> missing_ids({"properties": {"loan_id": {"type": "string"}}, "required": ["loan_id"]},
    ...             {"loan_id": "88213"}, "renew Dune, member number 88213", [], others=["member_number"])
    ['loan_id']
    >>> missing_ids({"properties": {"loan_id": {"type": "string"}}, "required": ["loan_id"]},
    ...             {"loan_id": "LN-771"}, "renew loan LN-771 please", [], others=["member_number"])
    []
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from plait.agents.grounding import CODE, result_values

PLAN = "plait_plan"
"""Key in a lookup call's ``additional_kwargs``: the tool the lookup is for (called once it has answered)."""
ID_WORDS = frozenset({"id", "ids", "ref", "reference", "uuid", "code", "number", "no", "num", "key", "sku"})
"""Last words of an argument name that make it an identifier (``pet_id``, ``booking_ref``, ``loan_number``)."""
LABEL_WORDS = 3
"""How many words before a value are read as its label ("member number 88213")."""
_GENERIC = frozenset({"id", "ids", "number", "no", "num", "name", "the", "a", "an", "of", "my", "your", "code",
                      "type", "date", "time", "to", "from", "for", "in", "at", "on", "by", "with", "new", "old"})


def words(name: str) -> list[str]:
    """An identifier as lowercase words: ``getMemberLoans`` -> ['get', 'member', 'loans']."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return [w for w in re.split(r"[^a-zA-Z0-9]+", spaced.lower()) if w]


def stem(word: str) -> str:
    """A crude singular: 'loans' -> 'loan', 'boxes' -> 'box', 'ids' -> 'id' (enough to match a noun)."""
    for suffix, keep in (("ies", "y"), ("ses", "s"), ("xes", "x"), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)] + keep
    return word


def id_like(name: str, spec: Mapping[str, Any]) -> bool:
    """True for an argument that names one record of a kind: ``pet_id``, ``loan_number`` (not a bare ``number``)."""
    parts = words(name)
    return len(parts) > 1 and parts[-1] in ID_WORDS and bool(entity(name)) \
        and spec.get("type", "string") in ("string", "integer") and "enum" not in spec


def entity(name: str) -> list[str]:
    """What an id argument identifies: ``pet_id`` -> ['pet'], ``booking_ref`` -> ['booking']."""
    return [stem(w) for w in words(name) if w not in ID_WORDS and w not in _GENERIC]


def _occurrence(value: str, text: str) -> re.Match[str] | None:
    return re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text, re.IGNORECASE)


def _label(text: str, start: int) -> set[str]:
    before = re.findall(r"[a-zA-Z]+", text[:start])[-LABEL_WORDS:]
    return {stem(w.lower()) for w in before}


def stated_as_id(value: Any, request: str, results: Sequence[Any], *, own: Sequence[str],
                 other: Sequence[str]) -> bool:
    """True when ``value`` is an id the request or a result gives for this argument.

    A result value counts as it is. In the request the value must be a whole token run that
    carries a digit (or is a short capital code), not a piece of a longer number ("07700" of
    "07700 900461"), and not labelled as something else: words of another argument (``other``)
    right before it and none of this argument's own words (``own``).
    """
    text = str(value).strip()
    if not text:
        return False
    if text.casefold() in {v.strip().casefold() for v in result_values(results)}:
        return True
    if not (re.search(r"\d", text) or CODE.fullmatch(text)):
        return False
    found = _occurrence(text, request)
    if found is None:
        return False
    before, after = request[:found.start()].rstrip(), request[found.end():].lstrip()
    if (before[-1:].isdigit() and found.start() - len(before) <= 1) or \
            (after[:1].isdigit() and len(request) - found.end() - len(after) <= 1):
        return False  # a piece of a longer number: a phone number, not an id
    label = _label(request, found.start())
    return bool(label & set(own)) or not label & set(other)


ID_TOKEN = r"[#]?(?P<value>(?=[\w/-]*\d)[A-Za-z0-9][\w/-]*[A-Za-z0-9]|\d)"
"""An id as people write it: a token with a digit in it (``PET-2291``, ``88213``, ``#A1002``)."""


def labelled_ids(schema: Mapping[str, Any], args: Mapping[str, Any], request: str) -> dict[str, Any]:
    """``args`` with each id-like argument set to the id the request labels with its name ("issue 45").

    A label is the argument's own noun followed by at most two short words ("pet id PET-2291",
    "member number: 51-0093", "order #A1002"); with exactly one such id in the request it wins.

    Example:
        >>> labelled_ids({"properties": {"issue_number": {"type": "integer"}}}, {"issue_number": 4},
        ...              "please resolve issue 45 on infra/tf")
        {'issue_number': 45}
    """
    out = dict(args)
    for name, spec in (schema.get("properties") or {}).items():
        if not id_like(name, spec) or name not in out:
            continue
        nouns = "|".join(re.escape(n) for n in entity(name))
        found = {m["value"] for m in re.finditer(rf"\b(?:{nouns})\w*(?:[\s:]+(?:id|number|no|num|ref|code)\.?)?"
                                                  rf"[\s:]+{ID_TOKEN}", request, re.IGNORECASE)}
        if len(found) != 1:
            continue
        value = found.pop()
        if spec.get("type") == "integer":
            out[name] = int(value) if value.isdigit() else out[name]
        else:
            out[name] = value
    return out


def missing_ids(schema: Mapping[str, Any], args: Mapping[str, Any], request: str, results: Sequence[Any], *,
                others: Sequence[str] = ()) -> list[str]:
    """Required id-like arguments of a call whose value the request and results do not state as that id.

    ``others`` are the argument names of the other tools on offer (what a labelled value may be instead).
    """
    props, required = schema.get("properties") or {}, schema.get("required") or []
    other_words = {stem(w) for name in others for w in words(name)} - _GENERIC
    out = []
    for name in required:
        spec = props.get(name) or {}
        if not id_like(name, spec):
            continue
        own = entity(name)
        if not stated_as_id(args.get(name, ""), request, results, own=own, other=sorted(other_words - set(own))):
            out.append(name)
    return out


def _mentions(spec: Mapping[str, Any], nouns: Sequence[str]) -> int:
    """How strongly a tool says it finds ``nouns``: 2 when it names their ids, 1 when it names them, else 0."""
    text = f"{' '.join(words(str(spec['name'])))} {spec.get('description') or ''}"
    found = {stem(w) for w in re.findall(r"[a-zA-Z]+", text.lower())}
    if not nouns or not set(nouns) <= found:
        return 0
    return 2 if {"id", "number", "ref", "reference", "code"} & found else 1


def lookup_for(missing: Sequence[str], target: Mapping[str, Any], offered: Sequence[Mapping[str, Any]],
               called: Sequence[str] = ()) -> str | None:
    """The tool to call first to find the ``missing`` ids of ``target``, or None when no tool says it finds them.

    Candidates are the other tools not yet called that do not themselves need a missing id; the
    one naming the ids in its name or description wins, in offered order on a tie.

    Example:
        >>> tools = [{"name": "renew_loan", "parameters": {"required": ["loan_id"]}},
        ...          {"name": "getMemberLoans", "description": "Lists a member's loans with their loan ids.",
        ...           "parameters": {"required": ["member_number"]}}]
        >>> lookup_for(["loan_id"], tools[0], tools)
        'getMemberLoans'
    """
    best: tuple[int, str | None] = (0, None)
    for spec in offered:
        needs = set((spec.get("parameters") or {}).get("required") or [])
        if spec["name"] == target["name"] or spec["name"] in called or needs & set(missing):
            continue
        strength = min(_mentions(spec, entity(name)) for name in missing)
        if strength > best[0]:
            best = (strength, str(spec["name"]))
    return best[1]


def failed(result: Any) -> bool:
    """True when a tool result reports an error (a JSON object with an ``error`` key, or ToolNode's ``Error:``)."""
    text = str(result).strip()
    if text.startswith("Error"):
        return True
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(value, dict) and "error" in value
