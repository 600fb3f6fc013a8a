"""Synthetic training cases for plait's tool-calling adapter (the skill, not the tools).

Each case offers a few tool schemas and a user request; the target is the exact call(s), their
results and the final reply, in the shared case format (``toolcase_format.md``). Tools come from
domain packs whose tool names, argument names and descriptions are drawn from several variants per
case, so a model trained on them learns to read a schema instead of memorising a tool.

Example:
    >>> cases = synthetic_cases(20, seed=1)
    >>> sorted({c["kind"] for c in cases})
    ['none', 'single', 'two-step']
    >>> python -m plait.agents.tool_data --n 2000 --seed 0 --out cases.jsonl  # doctest: +SKIP

Inside: case assembly, validation and the CLI. The parts: building blocks in ``tool_schema``, value
lists in ``tool_lists``, domain packs and two-step chains in ``tool_domains`` and ``tool_domains_more``,
no-tool requests in ``tool_talk`` (all under :mod:`plait.agents`).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Mapping
from typing import Any

from plait.agents import tool_domains, tool_domains_more
from plait.agents.tool_domains_more import CHAINS
from plait.agents.tool_schema import (
    COMPUTABLE,
    DEFAULT_MIX,
    HINTS,
    P_COMPUTE,
    Param,
    Tool,
    ToolDataError,
)
from plait.agents.tool_talk import (
    ABOUT,
    ASK_PREFIX,
    CAN_DO,
    GREET,
    GREET_REPLY,
    GREET_TAIL,
    KNOWLEDGE,
    NOPE,
    SMALLTALK,
    THANKS,
    THANKS_REPLY,
    THANKS_TAIL,
)

TOOLS = [*tool_domains.TOOLS, *tool_domains_more.TOOLS]
"""Every tool of every domain pack, in pack order (the order is part of the generated data)."""


# ---------------------------------------------------------------- assembling cases
SLOT = re.compile(r"\{(\w+)\}")
OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
NAME_OK = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
PREFIXES = ["Hey, ", "Hi! ", "Hello, ", "Quick one: ", "ok so ", "Um, ", "Hi there. ", "Good morning! ", "So, ", "Yo, ",
            "Excuse me, ", "Hey assistant, ", "Hiya - ", "Right, "]
SUFFIXES = [" Thanks!", " Thank you.", " thx", " asap", " :)", " Cheers.", " if you can", " Much appreciated!", " ty",
            " Thanks in advance.", " (no rush)"]
CONFLICTS = {frozenset(p) for p in [("food.track", "shop.order"), ("food.track", "parcel.track"), ("shop.order", "parcel.track"),
                                    ("restaurants.search", "food.search"), ("alarms.reminder", "todo.add"),
                                    ("alarms.reminder", "calendar.create"), ("calc.percent", "calc.eval"), ("calc.tip", "calc.eval"),
                                    ("food.order", "shop.cart")]}
"""Tool pairs never offered together: one request could fit both."""
BY_KEY = {t.key: t for t in TOOLS}
DOMAINS = tuple(sorted({t.domain for t in TOOLS}))
"""The domain pack names (weather, calendar, email, ...)."""
BY_DOMAIN = {d: [t for t in TOOLS if t.domain == d] for d in DOMAINS}
COMPUTABLE_TOOLS = [t for t in TOOLS if any(p.kind in COMPUTABLE and not p.opt for p in t.params)]


def _camel(s: str) -> str:
    head, *rest = s.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _snake(s: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", s).lower()


def _restyle(name: str, r: random.Random) -> str:
    if r.random() < 0.3:
        return _snake(name) if any(c.isupper() for c in name) else _camel(name)
    return name


def _schema(tool: Tool, r: random.Random, taken: set[str]) -> tuple[dict, dict[str, str]] | None:
    """The tool as offered in one case (name, description and argument names drawn), and key -> argument name."""
    names = [_restyle(n, r) for n in r.sample(tool.names, len(tool.names))]
    name = next((n for n in names if n not in taken), None)
    if name is None:
        return None
    camel = r.random() < 0.15
    props: dict[str, dict] = {}
    amap: dict[str, str] = {}
    for p in tool.params:
        arg = _camel(r.choice(p.names)) if camel else r.choice(p.names)
        spec: dict[str, Any] = {"type": p.type}
        if p.enum:
            spec["enum"] = list(p.enum)
        base = p.kind.split(":")[0]
        if base in HINTS:
            spec["description"] = r.choice(p.desc or tuple(HINTS[base]))
        elif p.desc and r.random() < 0.35:
            spec["description"] = r.choice(p.desc)
        props[arg], amap[p.key] = spec, arg
    required = [amap[p.key] for p in tool.params if not p.opt]
    return ({"name": name, "description": r.choice(tool.descs),
             "parameters": {"type": "object", "properties": props, "required": required}}, amap)


def _offer(r: random.Random, needed: list[Tool], *, extra: int | None = None) -> tuple[list[dict], dict[str, tuple[dict, dict]]]:
    """Schemas for the needed tools plus 1-4 distractors (mostly same-domain near misses), shuffled."""
    keys = list(dict.fromkeys(t.key for t in needed))
    want = min(6, len(keys) + (extra if extra is not None else r.randint(1, 4)))
    tries = 0
    while len(keys) < want and tries < 40:
        tries += 1
        home = r.choice(needed).domain
        pool = BY_DOMAIN[home] if r.random() < 0.65 else TOOLS
        t = r.choice(pool)
        if t.key in keys or any(frozenset((t.key, k)) in CONFLICTS for k in keys):
            continue
        keys.append(t.key)
    taken: set[str] = set()
    chosen: dict[str, tuple[dict, dict]] = {}
    for k in keys:
        made = _schema(BY_KEY[k], r, taken)
        if made is None:
            continue
        taken.add(made[0]["name"])
        chosen[k] = made
    order = list(chosen)
    r.shuffle(order)
    return [chosen[k][0] for k in order], chosen


def _typo(word: str, r: random.Random) -> str:
    i = r.randint(1, len(word) - 3)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:] if r.random() < 0.6 else word[:i] + word[i + 1:]


def _restyle_text(text: str, r: random.Random, *, lower: bool, typo: bool) -> str:
    """Lowercase or add one typo to the literal words of a template (slot values stay exact)."""
    parts = re.split(r"(\{\w+\})", text)
    if lower:
        parts = [p if SLOT.fullmatch(p) else p.lower() for p in parts]
    if typo:
        spots = [(i, m.start(), m.group()) for i, p in enumerate(parts) if not SLOT.fullmatch(p)
                 for m in re.finditer(r"[A-Za-z]{5,}", p)]
        if spots:
            i, at, w = r.choice(spots)
            parts[i] = parts[i][:at] + _typo(w, r) + parts[i][at + len(w):]
    return "".join(parts)


def _fill(template: str, params: Mapping[str, Param], r: random.Random, compute: bool = False) -> tuple[str, dict[str, Any], bool]:
    """(request text, canonical values of the slots used, whether any needs a computation)."""
    t = OPTIONAL.sub(lambda m: m.group(1) if r.random() < 0.45 else "", template)
    t = _restyle_text(t, r, lower=r.random() < 0.12, typo=r.random() < 0.08)
    surfaces: dict[str, str] = {}
    values: dict[str, Any] = {}
    computed = False
    for key in dict.fromkeys(SLOT.findall(t)):
        for _ in range(20):  # string values of one request are kept distinct so each argument is unambiguous
            surface, value, comp = params[key].value(r, compute and r.random() < 0.8)
            if not isinstance(value, str) or all(str(v).lower() != value.lower() for v in values.values()):
                break
        surfaces[key], values[key], computed = surface, value, computed or comp
    text = SLOT.sub(lambda m: surfaces[m.group(1)], t)
    if r.random() < 0.25:
        text = r.choice(PREFIXES) + (text[0].lower() + text[1:] if t[:1] != "{" else text)
    if r.random() < 0.2:
        suffix = r.choice(SUFFIXES)
        text += ("." if suffix[1:2].isupper() and text[-1:].isalnum() else "") + suffix
    for key, value in values.items():
        if isinstance(value, str) and not params[key].enum and surfaces[key] == value and value.lower() not in text.lower():
            raise ToolDataError(f"Slot {key!r} value {value!r} got lost in {text!r}: fix the template {template!r}.")
    return re.sub(r"\s+", " ", text).strip(), values, computed


def _answer(r: random.Random, answers: tuple[str, ...], contains: tuple[str, ...], values: Mapping[str, Any]) -> tuple[str, list[str]]:
    try:
        answer = r.choice(answers).format_map(values)
        needles = [str(values[k]) for k in contains]
    except (KeyError, IndexError) as e:
        raise ToolDataError(f"Answer template {answers} uses {e}, which is neither an argument nor a result key.") from e
    return answer, needles


def _call(schema: tuple[dict, dict], args: Mapping[str, Any], order: tuple[Param, ...], result: dict) -> dict:
    spec, amap = schema
    return {"tool": spec["name"], "args": {amap[p.key]: args[p.key] for p in order if p.key in args}, "result": result}


def _computable(params: Mapping[str, Param], template: str) -> bool:
    return any(params[k].kind in COMPUTABLE for k in SLOT.findall(OPTIONAL.sub("", template)))


def _single(r: random.Random) -> tuple[dict, bool]:
    compute = r.random() < P_COMPUTE
    tool = r.choice(COMPUTABLE_TOOLS if compute else TOOLS)
    tools, chosen = _offer(r, [tool], extra=r.choice([1, 1, 1, 2, 2, 3, 4]))
    params = {p.key: p for p in tool.params}
    template = r.choice([q for q in tool.reqs if not compute or _computable(params, q)])
    request, values, computed = _fill(template, params, r, compute)
    result = tool.result(values, r)
    answer, needles = _answer(r, tool.answers, tool.contains, {**values, **result})
    return ({"kind": "single", "tools": tools, "request": request, "calls": [_call(chosen[tool.key], values, tool.params, result)],
             "answer": answer, "answer_contains": needles}, computed)


def _two_step(r: random.Random) -> tuple[dict, bool] | None:
    chain = r.choice(CHAINS)
    t1, t2 = BY_KEY[chain.first], BY_KEY[chain.second]
    tools, chosen = _offer(r, [t1, t2], extra=r.choice([1, 1, 1, 2, 3]))
    params = {p.key: p for p in t2.params if p.key not in chain.bind} | {p.key: p for p in t1.params}
    request, values, computed = _fill(r.choice(chain.reqs), params, r, r.random() < P_COMPUTE)
    a1 = {p.key: values[p.key] for p in t1.params if p.key in values}
    r1 = t1.result(a1, r)
    a2 = {p.key: values[p.key] for p in t2.params if p.key in values and p.key not in chain.bind}
    for key, src in chain.bind.items():
        a2[key] = values[src[1:]] if src.startswith("@") else r1[src]
        if not src.startswith("@") and str(a2[key]).lower() in request.lower():
            return None  # the request happens to contain the value: it would not need the first call
    if len({str(v).lower() for v in a2.values() if isinstance(v, str)}) < sum(isinstance(v, str) for v in a2.values()):
        return None
    r2 = t2.result(a2, r)
    answer, needles = _answer(r, chain.answers, chain.contains, {**a1, **r1, **a2, **r2})
    calls = [_call(chosen[t1.key], a1, t1.params, r1), _call(chosen[t2.key], a2, t2.params, r2)]
    return {"kind": "two-step", "tools": tools, "request": request, "calls": calls, "answer": answer,
            "answer_contains": needles}, computed


def _can(tools: list[dict]) -> str:
    d = tools[0]["description"].rstrip(".")
    return d[:1].lower() + d[1:]


def _none(r: random.Random) -> tuple[dict, bool]:
    roll = r.random()
    if roll < 0.28:
        domain = r.choice(DOMAINS)
        request, cannot = r.choice(NOPE[domain])
        pool = BY_DOMAIN[domain]
        tools, _ = _offer(r, r.sample(pool, min(len(pool), r.randint(2, 4))), extra=0)
        can = _can(tools)
        answer = r.choice([f"Sorry, I can't {cannot} with the tools I have, but I can {can}.",
                           f"I'm not able to {cannot}. I can {can}, though.",
                           f"That's not something I can do: I can't {cannot}. I can {can} if that helps."])
        if r.random() < 0.3:
            request = r.choice(ASK_PREFIX[2:]) + request[0].lower() + request[1:]
    else:
        domain = r.choice([d for d in DOMAINS if d not in ("calc", "units")])
        tools, _ = _offer(r, [r.choice(BY_DOMAIN[domain])], extra=r.choice([1, 1, 2, 3]))
        if roll < 0.42:
            request, answer = r.choice(GREET) + r.choice(GREET_TAIL), r.choice(GREET_REPLY)
        elif roll < 0.56:
            request, answer = r.choice(THANKS) + r.choice(THANKS_TAIL), r.choice(THANKS_REPLY)
        elif roll < 0.64:
            request, answer = r.choice(SMALLTALK + ABOUT)
            request = r.choice(["", "", "Hey, ", "So... ", "Hi! "]) + request
        elif roll < 0.72:
            request = r.choice(["", "Hi! ", "Hello, ", "Hey, "]) + r.choice(CAN_DO)
            answer = f"I can {_can(tools)}, and {_can(tools[1:])}."
        else:
            request, answer = r.choice(KNOWLEDGE)
            request = r.choice(ASK_PREFIX) + request
        if r.random() < 0.15:
            request = request.lower()
    return {"kind": "none", "tools": tools, "request": request, "calls": [], "answer": answer, "answer_contains": []}, False


# ---------------------------------------------------------------- checks
_TYPES = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,)}


def _check_templates() -> None:
    """Every request template fills every required argument, and optional ones only inside ``[...]``."""
    names: dict[str, str] = {}
    for tool in TOOLS:
        for n in tool.names:
            for v in (n, _snake(n), _camel(n)):
                if names.setdefault(v, tool.key) != tool.key:
                    raise ToolDataError(f"Tool name {v!r} is used by {names[v]} and {tool.key}: give one another name.")
        keys = {p.key: p for p in tool.params}
        _check_reqs(tool.key, tool.reqs, keys, set())
        for p in tool.params:
            if len(set(p.names)) != len(p.names) or p.type == "string" and p.kind == "enum" and not p.enum:
                raise ToolDataError(f"{tool.key}.{p.key}: argument names must differ and enums need values.")
            if p.opt and not any("{" + p.key + "}" in q for q in tool.reqs):
                raise ToolDataError(f"{tool.key}: optional {p.key!r} is in no request template: add one with [...].")
    for chain in CHAINS:
        t1, t2 = BY_KEY[chain.first], BY_KEY[chain.second]
        keys = {p.key: p for p in t2.params if p.key not in chain.bind} | {p.key: p for p in t1.params}
        _check_reqs(f"{chain.first}->{chain.second}", chain.reqs, keys, set(chain.bind))
        if set(chain.bind) - {p.key for p in t2.params}:
            raise ToolDataError(f"Chain {chain.first}->{chain.second} binds unknown arguments {chain.bind}.")
    for x in [*TOOLS, *CHAINS]:
        if any("{" + k + "}" not in a for a in x.answers for k in x.contains):
            raise ToolDataError(f"{getattr(x, 'key', x)}: every answer template must show the answer_contains keys {x.contains}.")
    for d in DOMAINS:
        if d not in NOPE:
            raise ToolDataError(f"Domain {d!r} has no no-tool requests in NOPE.")


def _check_reqs(where: str, reqs: tuple[str, ...], keys: Mapping[str, Param], bound: set[str]) -> None:
    for q in reqs:
        outside = set(SLOT.findall(OPTIONAL.sub("", q)))
        inside = {k for seg in OPTIONAL.findall(q) for k in SLOT.findall(seg)}
        required = {k for k, p in keys.items() if not p.opt and k not in bound}
        if (outside | inside) - set(keys) or required - outside or inside & required or any(
                not SLOT.search(seg) for seg in OPTIONAL.findall(q)) or {k for k in outside if keys[k].opt}:
            raise ToolDataError(f"{where}: request template {q!r} must hold {sorted(required)} outside [...], "
                                f"optional arguments only inside [...], and nothing else.")


def validate_case(case: Mapping[str, Any]) -> None:
    """Raise ToolDataError unless ``case`` follows the shared format and its calls fit the offered schemas.

    Example:
        >>> validate_case(synthetic_cases(1, seed=3)[0])
    """
    where = f"case {case.get('id')!r}"
    if set(case) != {"id", "kind", "tools", "request", "calls", "answer", "answer_contains"}:
        raise ToolDataError(f"{where}: keys are {sorted(case)}, expected the format's seven keys.")
    want = {"single": 1, "none": 0, "two-step": 2}.get(case["kind"])
    if want is None or len(case["calls"]) != want:
        raise ToolDataError(f"{where}: kind {case['kind']!r} with {len(case['calls'])} calls.")
    tools = {t["name"]: t for t in case["tools"]}
    if not 2 <= len(case["tools"]) <= 6 or len(tools) != len(case["tools"]):
        raise ToolDataError(f"{where}: offer 2-6 tools with distinct names.")
    for t in case["tools"]:
        params = t["parameters"]
        if not NAME_OK.match(t["name"]) or not t["description"] or params["type"] != "object" or \
                set(params["required"]) - set(params["properties"]):
            raise ToolDataError(f"{where}: tool {t['name']!r} has a bad name, description or required list.")
    for call in case["calls"]:
        _check_call(where, call, tools)
    answer = case["answer"].lower()
    if (case["kind"] == "none") != (not case["answer_contains"]) or any(s.lower() not in answer for s in case["answer_contains"]):
        raise ToolDataError(f"{where}: answer_contains {case['answer_contains']} must be in the answer {case['answer']!r}.")
    if case["kind"] == "two-step":
        first = {str(v).lower() for v in case["calls"][0]["result"].values()}
        if not any(str(v).lower() in first and str(v).lower() not in case["request"].lower()
                   for v in case["calls"][1]["args"].values()):
            raise ToolDataError(f"{where}: the second call uses no value from the first call's result.")


def _check_call(where: str, call: Mapping[str, Any], tools: Mapping[str, dict]) -> None:
    tool = tools.get(call["tool"])
    if tool is None:
        raise ToolDataError(f"{where}: call to {call['tool']!r}, which is not offered.")
    props, required = tool["parameters"]["properties"], tool["parameters"]["required"]
    if set(call["args"]) - set(props) or set(required) - set(call["args"]):
        raise ToolDataError(f"{where}: args {sorted(call['args'])} do not fit {call['tool']} ({sorted(props)}, required {required}).")
    for name, value in call["args"].items():
        spec = props[name]
        if not isinstance(value, _TYPES[spec["type"]]) or spec["type"] != "boolean" and isinstance(value, bool) or \
                "enum" in spec and value not in spec["enum"]:
            raise ToolDataError(f"{where}: {call['tool']}.{name}={value!r} is not a valid {spec['type']} {spec.get('enum', '')}.")


# ---------------------------------------------------------------- public API
def _counts(n: int, mix: Mapping[str, float]) -> dict[str, int]:
    if set(mix) - set(DEFAULT_MIX) or sum(mix.values()) <= 0:
        raise ToolDataError(f"mix {dict(mix)} must weigh the kinds {sorted(DEFAULT_MIX)} (non-negative, not all zero).")
    total = sum(mix.values())
    raw = {k: n * mix.get(k, 0) / total for k in DEFAULT_MIX}
    counts = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: raw[k] - counts[k], reverse=True)[: n - sum(counts.values())]:
        counts[k] += 1
    return counts


def generate(n: int = 2000, *, seed: int = 0, mix: Mapping[str, float] | None = None) -> list[tuple[dict, bool]]:
    """Like :func:`synthetic_cases`, with a flag per case: does an argument need a small computation?"""
    _check_templates()
    counts = _counts(n, mix or DEFAULT_MIX)
    kinds = [k for k, c in counts.items() for _ in range(c)]
    random.Random(seed).shuffle(kinds)
    makers = {"single": _single, "none": _none, "two-step": _two_step}
    seen: set[str] = set()
    out: list[tuple[dict, bool]] = []
    for i, kind in enumerate(kinds):
        r = random.Random(seed * 1_000_003 + i)
        made = None
        for _ in range(40):  # redraw duplicates so requests stay distinct
            made = makers[kind](r)
            if made is not None and made[0]["request"].lower() not in seen:
                break
        if made is None:
            raise ToolDataError(f"Could not make a {kind} case (seed {seed}, index {i}): check the chains.")
        case = {"id": f"syn-{seed}-{i:05d}", **made[0]}
        validate_case(case)
        seen.add(case["request"].lower())
        out.append((case, made[1]))
    return out


def synthetic_cases(n: int = 2000, *, seed: int = 0, mix: Mapping[str, float] | None = None) -> list[dict]:
    """``n`` training cases in the shared tool-calling format, the same for the same seed.

    Args:
        n: number of cases.
        seed: random seed; the same seed gives the same cases.
        mix: weight per kind (``single``, ``none``, ``two-step``); default 0.55 / 0.15 / 0.30.

    Example:
        >>> cases = synthetic_cases(10, seed=0)
        >>> len(cases), cases[0]["kind"] in {"single", "none", "two-step"}
        (10, True)
    """
    return [case for case, _ in generate(n, seed=seed, mix=mix)]


def stats(pairs: list[tuple[dict, bool]]) -> dict[str, Any]:
    """Counts per kind, variety and size figures for generated cases (see :func:`generate`)."""
    cases = [c for c, _ in pairs]
    sizes = sorted(len(json.dumps({k: c[k] for k in ("tools", "request", "calls", "answer")}, ensure_ascii=False)) for c in cases)
    return {"cases": len(cases), "kinds": {k: sum(c["kind"] == k for c in cases) for k in DEFAULT_MIX},
            "distinct_tool_names": len({t["name"] for c in cases for t in c["tools"]}),
            "distinct_called_tools": len({call["tool"] for c in cases for call in c["calls"]}),
            "distinct_requests": len({c["request"] for c in cases}),
            "computed_share_of_tool_cases": round(sum(f for c, f in pairs if c["calls"]) / max(1, sum(bool(c["calls"]) for c in cases)), 3),
            "chars_median": sizes[len(sizes) // 2] if sizes else 0, "chars_max": sizes[-1] if sizes else 0,
            "domains": len(DOMAINS), "tools": len(TOOLS), "chains": len(CHAINS)}


def main(argv: list[str] | None = None) -> int:
    """``python -m plait.agents.tool_data --n 2000 --seed 0 --out cases.jsonl``: write cases as JSONL."""
    parser = argparse.ArgumentParser(prog="python -m plait.agents.tool_data", description=main.__doc__)
    parser.add_argument("--n", type=int, default=2000, help="number of cases")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--out", default="-", help="output JSONL file (- for stdout)")
    args = parser.parse_args(argv)
    pairs = generate(args.n, seed=args.seed)
    lines = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c, _ in pairs)
    if args.out == "-":
        sys.stdout.write(lines)
    else:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(lines)
    print(json.dumps(stats(pairs)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
