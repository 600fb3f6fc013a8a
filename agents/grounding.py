"""Argument values the request (or a tool result) actually states: checked, and copied when not.

A small model writing a call invents what it was not told: an optional ``deliver_to: "Toronto"``
nobody mentioned, a ``start_time`` of ``02:00`` when the request says ``22:00``. A string value is
*grounded* when it appears in the request (with its annotations, :func:`plait.agents.values.annotate`)
or in a result this turn. An ungrounded optional value is dropped (the tool's default applies);
for an ungrounded required value the call is written again with that argument restricted to
the spans of the request and the results (:func:`spans`), so the model can only copy.

Example:
    >>> grounded("Sam O'Neill", "please save 555-0147 as sam o'neill")
    True
    >>> spans("text (212) 555-0147 now", longest=2)
    ['text', '(212)', '212', '555-0147', 'now', 'text (212)', '(212) 555-0147', '555-0147 now']
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from plait.agents.quantities import stated_quantity

MAX_SPANS = 400
"""Most alternatives one argument is restricted to (a request of 50 words, spans up to 8 words)."""
_EDGE = "\"'“”‘’,.;:!?"


def _norm(text: str) -> str:
    return " ".join(str(text).split()).casefold()


CODE = re.compile(r"[A-Z]{2,4}")
"""A code the model writes rather than copies ("Swiss francs" -> CHF, "Lisbon" -> LIS): never forced to a span."""


def grounded(value: Any, context: str) -> bool:
    """True when ``value`` (a string) appears in ``context``, ignoring case and spacing, or is a short code.

    Non-strings are always grounded.
    """
    if not isinstance(value, str):
        return True
    return bool(CODE.fullmatch(value.strip())) or bool(value.strip()) and _norm(value) in _norm(context)


def _leaves(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [] if value is None or isinstance(value, bool) else [str(value)]


def result_values(results: Sequence[Any]) -> list[str]:
    """Every scalar value in the tool results (JSON objects read; other text kept whole)."""
    out = []
    for result in results:
        try:
            out += _leaves(json.loads(result) if isinstance(result, str) else result)
        except json.JSONDecodeError:
            out.append(str(result))
    return out


def spans(text: str, *, longest: int = 8) -> list[str]:
    """Every run of 1..``longest`` words of ``text``, outer punctuation trimmed, in order of appearance."""
    words = text.split()
    out: dict[str, None] = {}
    for size in range(1, longest + 1):
        for start in range(len(words) - size + 1):
            span = " ".join(words[start:start + size]).strip(_EDGE)
            bare = span[1:-1] if span[:1] == "(" and span[-1:] == ")" and "(" not in span[1:-1] else span
            for candidate in (span, bare):
                if candidate:
                    out.setdefault(candidate)
    return list(out)[:MAX_SPANS]


def copy_only(schema: Mapping[str, Any], names: Sequence[str], choices: Sequence[str]) -> dict[str, Any]:
    """``schema`` with the string arguments ``names`` restricted to ``choices`` (an enum)."""
    props = {k: dict(v) for k, v in (schema.get("properties") or {}).items()}
    for name in names:
        props[name] = {**{k: v for k, v in props[name].items() if k not in ("maxLength", "pattern", "format")},
                       "enum": list(choices)}
    return {**schema, "properties": props}


def check_call(args: Mapping[str, Any], schema: Mapping[str, Any], context: str) -> tuple[dict[str, Any], list[str]]:
    """Drop ungrounded optional string values; return the arguments kept and the required ones to copy again.

    Example:
        >>> schema = {"properties": {"city": {"type": "string"}, "note": {"type": "string"}}, "required": ["city"]}
        >>> check_call({"city": "Lisbon", "note": "Toronto"}, schema, "weather in lisbon?")
        ({'city': 'Lisbon'}, [])
        >>> check_call({"city": "Porto"}, schema, "weather in lisbon?")
        ({'city': 'Porto'}, ['city'])
    """
    props, required = schema.get("properties") or {}, set(schema.get("required") or [])
    kept, again = {}, []
    for name, value in args.items():
        spec = props.get(name) or {}
        if spec.get("type") != "string" or "enum" in spec or grounded(value, context):
            kept[name] = value
        elif name in required:
            kept[name] = value
            again.append(name)
    return kept, again


def context_of(request: str, results: Sequence[Any]) -> str:
    """What a value may be copied from: the annotated request and every result value, one per line."""
    from plait.agents.values import annotate

    return "\n".join([annotate(request), *result_values(results)])


def copy_spans(request: str, results: Sequence[Any]) -> list[str]:
    """The alternatives an ungrounded required value is restricted to: request spans, then result values."""
    from plait.agents.values import annotate

    values = [v for v in result_values(results) if v.strip()]
    return list(dict.fromkeys([*values, *spans(annotate(re.sub(r"\s+", " ", request)))]))[:MAX_SPANS]


NEGATION = re.compile(r"\b(?:not|no|without|never|don'?t|doesn'?t|isn'?t|won'?t|n't)\b(?:\W+\w+){0,2}\W*$", re.IGNORECASE)
"""A negation in the three words before a mention ("without insurance", "not automatic")."""
_FLAG_FILLER = frozenset({"is", "has", "have", "include", "includes", "including", "only", "with", "use", "allow",
                          "want", "wants", "need", "needs", "enable", "enabled", "flag", "opt", "add", "the", "a"})


def _stems(text: str) -> list[str]:
    from plait.agents.planning import stem, words

    return [stem(w) for w in words(text)]


def _mentioned(word: str, text: str) -> re.Match[str] | None:
    """Where ``word`` is said in ``text``: as a word's start, or its first six letters for a long word."""
    root = word[:6] if len(word) >= 7 else word
    return re.search(rf"\b{re.escape(root)}\w*", text, re.IGNORECASE)


def _said(value: str, request: str) -> bool:
    """True when every word of an enum value (``audiobook``, ``surgery_consult``) is said in ``request``."""
    parts = [w for w in _stems(value) if len(w) > 1]
    said = set(_stems(request))
    return bool(parts) and all(p in said or (len(p) >= 5 and _mentioned(p, request)) for p in parts)


def implied(args: Mapping[str, Any], schema: Mapping[str, Any], request: str, tool: str) -> dict[str, Any]:
    """Optional enum and flag arguments set from the request's own words; invented ones taken out.

    An optional enum left out takes the one value the request says ("any audiobooks" ->
    ``format: audiobook``); one the request never says is dropped, or swapped for the one it does
    say (a required one is only swapped). An optional boolean whose name's words the request all
    says ("automatic", "indoors") is true unless negated. An optional string that only repeats the tool's own name ("cancel" for
    ``cancel_booking``'s ``reason``) is dropped.

    Example:
        >>> schema = {"properties": {"query": {"type": "string"}, "indoor": {"type": "boolean"},
        ...           "format": {"type": "string", "enum": ["book", "audiobook"]}}, "required": ["query"]}
        >>> implied({"query": "ferns"}, schema, "caring for ferns indoors, any audiobooks?", "get_guide")
        {'query': 'ferns', 'indoor': True, 'format': 'audiobook'}
    """
    props, required = schema.get("properties") or {}, set(schema.get("required") or [])
    out, name_words = dict(args), set(_stems(tool))
    for name, spec in props.items():
        values = [v for v in spec.get("enum") or [] if isinstance(v, str)]
        if values:
            said = [v for v in values if _said(v, request)]
            if name in required:  # a required choice is kept unless the request says exactly one other
                if name in out and out[name] not in said and len(said) == 1:
                    out[name] = said[0]
                continue
            if name in out and out[name] not in said:
                out.pop(name)
            if name not in out and len(said) == 1:
                out[name] = said[0]
        elif name in required:
            continue
        elif spec.get("type") == "boolean" and name not in out:
            words = [w for w in _stems(name) if w not in _FLAG_FILLER and len(w) >= 4]
            hits = [_mentioned(w, request) for w in words]
            if words and all(hits) and not any(NEGATION.search(request[:m.start()]) for m in hits if m):
                out[name] = True
        elif spec.get("type") == "string" and isinstance(out.get(name), str):
            if set(_stems(out[name])) <= name_words:
                out.pop(name)
        elif spec.get("type") in ("integer", "number") and name not in out:
            value = stated_quantity(name, spec, request)
            if value is not None and value not in out.values():
                out[name] = value
    return out


NUMBER_RUN = re.compile(r"\+?\(?\d[\d ().-]*\d\)?")
"""A run of digits people write with spaces, dashes and brackets: '(212) 555-0147', '+44 7911 123456'."""


def whole_numbers(args: Mapping[str, Any], schema: Mapping[str, Any], request: str) -> dict[str, Any]:
    """String values that are only a piece of a longer number in the request (a phone number) made whole.

    Example:
        >>> whole_numbers({"to": "212"}, {"properties": {"to": {"type": "string"}}}, "text (212) 555-0147 hi")
        {'to': '(212) 555-0147'}
    """
    props = schema.get("properties") or {}
    out = dict(args)
    for name, value in args.items():
        if (props.get(name) or {}).get("type") != "string" or not isinstance(value, str) or not value.strip():
            continue
        runs = [m.group(0).strip() for m in NUMBER_RUN.finditer(request)]
        longer = [r for r in runs if value.strip() in r and r != value.strip() and sum(c.isdigit() for c in r) >= 7]
        if len(set(longer)) == 1 and sum(c.isdigit() for c in value) >= 2:
            out[name] = longer[0]
    return out


def names_apart(args: Mapping[str, Any]) -> dict[str, Any]:
    """A first-name value that also holds the last name ("Lucía Fernández" beside "Fernández") keeps the first only.

    Example:
        >>> names_apart({"first_name": "Lucía Fernández", "last_name": "Fernández"})
        {'first_name': 'Lucía', 'last_name': 'Fernández'}
    """
    from plait.agents.planning import words

    def find(*marks: str) -> str | None:
        return next((k for k in args if {*marks} & set(words(k)) and isinstance(args[k], str)), None)

    first, last = find("first", "given", "forename"), find("last", "family", "surname")
    out = dict(args)
    if first and last and first != last:
        whole, tail = " ".join(out[first].split()), " ".join(out[last].split())
        if tail and whole.casefold().endswith(" " + tail.casefold()):
            out[first] = whole[: -len(tail)].strip()
    return out
