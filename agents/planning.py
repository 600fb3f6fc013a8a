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
LABEL_WORDS = 2
"""How many words right before a value are read as its label ("member number 88213")."""
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


_FILLER = frozenset({"is", "was", "are", "it", "its", "s", "my", "our", "the", "a", "an", "of"})


def _label(text: str, start: int) -> set[str]:
    """The last words before ``start``, fillers skipped ("member number is 88213" -> member, number)."""
    before = [w.lower() for w in re.findall(r"[a-zA-Z]+", text[:start]) if w.lower() not in _FILLER]
    return {stem(w) for w in before[-LABEL_WORDS:]}


def stated_as_id(value: Any, request: str, results: Sequence[Any], *, own: Sequence[str],
                 other: Sequence[str]) -> bool:
    """True when ``value`` is an id the request or a result gives for this argument.

    A result value counts as it is. In the request the value must be a whole token run that
    carries a digit (or is a short capital code), not a piece of a longer number ("07700" of
    "07700 900461"), and not labelled as something else: words of another argument (``other``,
    "tax" for ``taxpayer_id``) right before it and none of this argument's own words (``own``).
    Unless its own words label it, a value with a space in it (a plate, a phone number) is not an id.
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
    if label & set(own):
        return True
    if re.search(r"\s", text):  # "S-PV 9021", "+49 160 4471 283": a plate or a phone, not a record id
        return False
    return not any(w[:3] == o[:3] and (w.startswith(o) or o.startswith(w)) for w in label for o in other)


def _prefix(text: str) -> str:
    return re.match(r"[A-Za-z]*", text.strip().lstrip("#")).group(0).upper()


def shaped_like_example(value: Any, spec: Mapping[str, Any]) -> bool:
    """True when ``value`` starts like an example id in the argument's description ("e.g. PET-1042" and PET-2291)."""
    examples = [w for w in re.findall(r"[\w-]+", str(spec.get("description") or "")) if re.search(r"\d", w)]
    head = _prefix(str(value))
    return bool(head) and re.search(r"\d", str(value)) is not None and any(_prefix(e) == head for e in examples)


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


def unlike_example(value: Any, spec: Mapping[str, Any]) -> bool:
    """True when the description shows ids with a letter prefix ("e.g. LN-100234") and ``value`` has another."""
    examples = {_prefix(w) for w in re.findall(r"[\w-]+", str(spec.get("description") or ""))
                if re.search(r"\d", w) and _prefix(w)}
    return bool(examples) and _prefix(str(value)) not in examples


def missing_ids(schema: Mapping[str, Any], args: Mapping[str, Any], request: str, results: Sequence[Any], *,
                others: Sequence[str] = ()) -> list[str]:
    """Required id-like arguments of a call whose value the request and results do not state as that id.

    ``others`` are the argument names of the other tools on offer (what a labelled value may be instead;
    pass the free-text ones: a choice such as ``status`` labels nothing). A value shaped like the
    example id in the argument's description is stated.
    """
    props, required = schema.get("properties") or {}, schema.get("required") or []
    other_words = {stem(w) for name in others for w in words(name)} - _GENERIC
    out = []
    for name in required:
        spec = props.get(name) or {}
        if not id_like(name, spec):
            continue
        own = entity(name)
        if shaped_like_example(args.get(name, ""), spec):
            continue
        from_result = str(args.get(name, "")).strip().casefold() in {v.strip().casefold() for v in result_values(results)}
        if unlike_example(args.get(name, ""), spec) and not from_result:  # "88213" where it shows "LN-100234"
            out.append(name)
            continue
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


def tool_labelled_for(value: Any, target: Mapping[str, Any], offered: Sequence[Mapping[str, Any]], request: str,
                      called: Sequence[str] = ()) -> str | None:
    """The other tool whose own id the request labels ``value`` as ("for my booking TB-51902" -> the tool
    taking ``booking_id``), when exactly one does: the chosen tool read someone else's id.

    Example:
        >>> offered = [{"name": "bookCourt", "parameters": {"properties": {"court_id": {"type": "string"}},
        ...             "required": ["court_id"]}},
        ...            {"name": "rentEquipment", "parameters": {"properties": {"booking_id": {"type": "string"}},
        ...             "required": ["booking_id"]}}]
        >>> tool_labelled_for("TB-51902", offered[0], offered, "for my booking TB-51902, a ball machine")
        'rentEquipment'
    """
    owners = []
    for spec in offered:
        if spec["name"] == target["name"] or spec["name"] in called:
            continue
        schema = spec.get("parameters") or {}
        ids = [n for n in schema.get("required") or [] if id_like(n, (schema.get("properties") or {}).get(n) or {})]
        labelled = labelled_ids(schema, {n: None for n in ids}, request)
        if ids and all(labelled[n] is not None for n in ids) and str(value) in {str(labelled[n]) for n in ids}:
            owners.append(str(spec["name"]))
    return owners[0] if len(owners) == 1 else None


CONTINUE_MARGIN = 0.1
"""How far below the first tool's similarity to the request a follow-up tool may score and still be called
after the first result (:func:`follow_up`); chosen on the dev set ``benchmarks/data/tool_calling_dev.jsonl``
(23 of 40 two-step tasks continued rightly, 1 of 60 single calls wrongly), never on the held-out set."""


def _leaves(value: Any, parent: str = "") -> list[tuple[str, str, Any]]:
    if isinstance(value, Mapping):
        return [leaf for k, v in value.items()
                for leaf in (_leaves(v, str(k)) if isinstance(v, Mapping | list) else [(parent, str(k), v)])]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v, parent)]
    return []


def provides(result: Any, arg: str) -> bool:
    """True when a tool result holds a value for argument ``arg``: a key of that name (``order_id``), or an
    ``id`` inside a list named after its noun (``{"orders": [{"id": ...}]}`` for ``order_id``)."""
    try:
        value = json.loads(result) if isinstance(result, str) else result
    except json.JSONDecodeError:
        return False
    for parent, key, _ in _leaves(value):
        if words(key) == words(arg):
            return True
        if key.lower() in ("id", "number", "ref") and words(parent) and stem(words(parent)[-1]) in entity(arg):
            return True
    return False


def follow_up(first: str, result: Any, offered: Sequence[Mapping[str, Any]], similarity: Mapping[str, float], *,
              floor: float, margin: float = CONTINUE_MARGIN) -> str | None:
    """The tool to call after ``first``'s result when the request asked for more than the lookup, or None.

    A candidate takes every id it requires from ``result``; the request (alone, ``similarity`` per
    tool) must be about it nearly as much as about ``first`` (within ``margin``) and above ``floor``.
    The closest candidate wins.

    Example:
        >>> offered = [{"name": "find_orders", "parameters": {"required": ["phone"]}},
        ...            {"name": "cancelOrder", "parameters": {"properties": {"order_id": {"type": "string"}},
        ...             "required": ["order_id"]}}]
        >>> follow_up("find_orders", {"orders": [{"order_id": "DC-1"}]}, offered,
        ...           {"find_orders": 0.48, "cancelOrder": 0.68}, floor=0.39)
        'cancelOrder'
    """
    best: tuple[float, str | None] = (floor, None)
    for spec in offered:
        schema = spec.get("parameters") or {}
        ids = [n for n in schema.get("required") or [] if id_like(n, (schema.get("properties") or {}).get(n) or {})]
        score = similarity.get(str(spec["name"]), 0.0)
        if spec["name"] == first or not ids or not all(provides(result, n) for n in ids):
            continue
        if score >= similarity.get(first, 0.0) - margin and score >= best[0]:
            best = (score, str(spec["name"]))
    return best[1]
