"""Which tool to call next, or none: an adapted embedding model that reads tool cards.

The 270M model cannot decide reliably whether a request needs a tool, which one, or whether a
tool result calls for a second tool. This node decides instead, the way the help-centre scorer
picks evidence: MiniLM with a small LoRA adapter (trained by :func:`train_tool_scorer` on the
synthetic cases of :mod:`plait.agents.tool_data`, never on the evaluation set) compares the
request with a *card* per tool (name, description, argument names). After a tool has answered,
the query is the request plus what was done (:func:`step_query`), so the same model decides
whether a second tool is needed (the result holds an id a second tool takes) or the turn is done.
Two thresholds say when no tool is close enough, one for the first step and one for the steps
after a result; they are measured on domains held out of a first training run, and the shipped
scorer is then trained on every domain.

Example:
    >>> chooser = ToolChooser.packaged()  # doctest: +SKIP
    >>> chooser.choose("what's the weather in Oslo?", [weather, calculator]).name  # doctest: +SKIP
    'get_weather'
    >>> python -m plait.agents.tool_choice --out my-tool-scorer  # retrain (~28 min on 2 cores)  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from plait.errors import PlaitError

TOOL_SCORER = Path(__file__).parent / "data" / "tool-scorer"
"""The packaged tool scorer (adapter + ``scorer.json`` with both thresholds)."""
RESULT_CHARS = 240
"""How much of a tool result the follow-up query keeps (MiniLM reads 256 word pieces)."""


def _words(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace("-", " ").lower()


def tool_card(spec: Mapping[str, Any]) -> str:
    """What a tool is matched on: its name in words, its description and its argument names.

    Example:
        >>> tool_card({"name": "getPetRecord", "description": "Returns a pet's record.",
        ...            "parameters": {"properties": {"pet_id": {"type": "string"}}}})
        "get pet record: Returns a pet's record. Takes: pet id."
    """
    props = (spec.get("parameters") or {}).get("properties") or {}
    takes = f" Takes: {', '.join(_words(k) for k in props)}." if props else ""
    return f"{_words(str(spec['name']))}: {str(spec.get('description') or '').strip()}{takes}"


def _flat(value: Any) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{_words(str(k))}: {_flat(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " | ".join(_flat(v) for v in value)
    return str(value)


def step_query(request: str, done: Sequence[tuple[str, Any]] = ()) -> str:
    """The text the scorer reads: the request, then each tool already called and what it returned.

    Example:
        >>> step_query("cancel my dentist booking", [("find_booking", {"booking_id": "B-12"})])
        'cancel my dentist booking || done find booking -> booking id: B-12'
    """
    parts = [request.strip()]
    for name, result in done:
        try:
            value = json.loads(result) if isinstance(result, str) else result
        except json.JSONDecodeError:
            value = result
        parts.append(f"done {_words(name)} -> {_flat(value)[:RESULT_CHARS]}")
    return " || ".join(parts)


def spec_of(tool: Any) -> dict[str, Any]:
    """A LangChain tool as a JSON spec (``name``, ``description``, ``parameters``)."""
    from plait.agents.protocol import args_schema

    return {"name": tool.name, "description": tool.description or "", "parameters": args_schema(tool)}


# ---------------------------------------------------------------- training data
def choice_examples(cases: Sequence[Mapping[str, Any]], *, extra_tools: Sequence[Mapping[str, Any]] = (),
                    distractors: int = 2, seed: int = 0) -> list[dict[str, Any]]:
    """Every decision of every case as a scorer example (:func:`plait.chains.scorer_train.fit`'s format).

    A case with calls ``c1, c2`` gives three decisions: ``request -> c1``, ``request + c1's result
    -> c2`` and ``request + both results -> none``; a single call gives ``-> c1`` then ``-> none``; a
    no-tool case gives ``-> none``. Candidates are the case's tools not yet called, plus
    ``distractors`` tools drawn from ``extra_tools`` (other domains), so "none" is learned against
    near and far tools alike.
    """
    rng = random.Random(seed)
    out = []
    for case in cases:
        offered = list(case["tools"])
        calls = list(case.get("calls") or [])
        far = [t for t in rng.sample(list(extra_tools), min(len(extra_tools), distractors + 3))
               if t["name"] not in {o["name"] for o in offered}][:distractors] if extra_tools else []
        done: list[tuple[str, Any]] = []
        for step in range(len(calls) + 1):
            called = {name for name, _ in done}
            left = [t for t in offered if t["name"] not in called] + far
            target = calls[step]["tool"] if step < len(calls) else None
            out.append({"question": step_query(str(case["request"]), done), "units": [tool_card(t) for t in left],
                        "labels": [t["name"] == target for t in left], "out_of_scope": target is None,
                        "step": step, "group": 0})
            if step < len(calls):
                done.append((calls[step]["tool"], calls[step].get("result", "")))
    return out


def _domain_of() -> dict[str, str]:
    from plait.agents.tool_data import TOOLS

    return {_words(name).replace(" ", ""): t.domain for t in TOOLS for name in t.names}


def case_domain(case: Mapping[str, Any], domains: Mapping[str, str]) -> str:
    """The domain most of a case's offered tools come from ("" when none is known)."""
    found = [domains.get(_words(t["name"]).replace(" ", ""), "") for t in case["tools"]]
    return max(sorted(set(found)), key=found.count) if found else ""  # sorted: ties the same in every process


# ---------------------------------------------------------------- thresholds
def best_scores(model: Any, examples: Sequence[Mapping[str, Any]]) -> list[tuple[float, bool, bool, int]]:
    """Per example: best candidate similarity, "none" expected, best candidate right, step."""
    from plait.chains.scorer_train import best_similarities

    return [(s, oos, right, ex["step"]) for (s, oos, right), ex in zip(best_similarities(model, list(examples)), examples)]


def threshold_for(scored: Sequence[tuple[float, bool, bool]]) -> tuple[float, dict[str, float]]:
    """The threshold with the most right decisions, and the share right of "none" and of tool decisions.

    A decision is right when the best tool is called and is the right one, or when no tool is
    called where none is needed; "none" cases weigh as often as they occur (15% of the synthetic mix).
    """
    none = [s for s, oos, _ in scored if oos]
    tools = [(s, good) for s, oos, good in scored if not oos]

    def rate(hits: int, n: int) -> float:
        return round(hits / n, 4) if n else 1.0

    best: tuple[float, int, float, float] = (0.0, -1, 0.0, 0.0)
    for cut in [0.0, *sorted({round(s, 4) + 1e-4 for s, _, _ in scored})]:
        none_hits = sum(s < cut for s in none)
        tool_hits = sum(s >= cut and good for s, good in tools)
        if none_hits + tool_hits > best[1]:
            best = (round(cut, 4), none_hits + tool_hits, rate(none_hits, len(none)), rate(tool_hits, len(tools)))
    return best[0], {"none_right": best[2], "tool_right": best[3]}


# ---------------------------------------------------------------- training
@dataclass(frozen=True)
class ToolScorerOptions:
    """How the packaged tool scorer is built."""

    cases: int = 2000
    """Synthetic cases generated (each gives 1-3 decisions)."""
    seed: int = 0
    held_out_share: float = 0.2
    """Share of domains kept out of the first run: the thresholds are measured on them (tools it never saw)."""
    epochs: int = 2
    distractors: int = 2
    mix: tuple[tuple[str, float], ...] = (("single", 0.45), ("none", 0.25), ("two-step", 0.30))
    """Kinds of synthetic cases; "none" above the adapter's 15% so the first step learns to call nothing."""


def train_tool_scorer(out: str | Path = TOOL_SCORER, *, options: ToolScorerOptions = ToolScorerOptions(),
                      extra_cases: Sequence[Mapping[str, Any]] = (), thresholds: Mapping[str, Any] | None = None
                      ) -> dict[str, Any]:
    """Train a tool scorer on synthetic cases (plus ``extra_cases``, your own tools) into ``out``.

    First a scorer without the held-out domains measures the two thresholds on them (skipped when
    ``thresholds`` gives them, as a previous run's ``scorer.json`` records them); then the shipped
    scorer learns every domain. Resumable (each epoch is checkpointed under ``out``). Returns what
    ``scorer.json`` records.
    """
    import shutil

    from plait.chains.scorer_train import ScorerOptions, fit, save_scorer

    started = time.perf_counter()
    out = Path(out)
    train_ex, check_ex, held = _split(options, extra_cases)
    settings = replace(ScorerOptions(), epochs=options.epochs, seed=options.seed)
    if thresholds is None:
        fold = fit(train_ex, settings, checkpoint=out / ".fold", label="tool scorer, held-out domains out")
        thresholds = _thresholds(fold, check_ex)
    keys = ("min_similarity", "next_min_similarity", "decisions_right_on_held_out_domains")
    model = fit([*train_ex, *check_ex], settings, checkpoint=out / ".final", label="tool scorer, every domain")
    save_scorer(model, out, {})
    manifest = {"name": out.name, **{k: thresholds[k] for k in keys}, "held_out_domains": sorted(held),
                "measured": "thresholds and decisions right: a scorer trained without the held-out domains, on them; "
                            "the shipped scorer is then trained on every domain",
                "train_decisions": len(train_ex) + len(check_ex), "check_decisions": len(check_ex),
                "options": asdict(options), "minutes": round((time.perf_counter() - started) / 60, 1),
                "rebuild": "python -m plait.agents.tool_choice"}
    save_scorer(None, out, manifest)
    for name in (".fold", ".final"):  # done: a later run on other data must not resume from these
        shutil.rmtree(out / name, ignore_errors=True)
    return manifest


def _split(options: ToolScorerOptions, extra_cases: Sequence[Mapping[str, Any]]
           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], set[str]]:
    """Training decisions, and decisions on the held-out domains (thresholds are measured on those)."""
    from plait.agents.tool_data import TOOLS, synthetic_cases

    domains = _domain_of()
    names = sorted({t.domain for t in TOOLS})
    held = set(random.Random(options.seed).sample(names, max(1, round(options.held_out_share * len(names)))))
    mix = dict(options.mix)
    cases = [*synthetic_cases(options.cases, seed=options.seed, mix=mix), *extra_cases]
    train = [c for c in cases if case_domain(c, domains) not in held]
    check = [c for c in [*cases, *synthetic_cases(options.cases // 4, seed=options.seed + 50_000, mix=mix)]
             if case_domain(c, domains) in held]
    pool = [t for c in train for t in c["tools"]]
    return (choice_examples(train, extra_tools=pool, distractors=options.distractors, seed=options.seed),
            choice_examples(check, extra_tools=pool, distractors=options.distractors, seed=options.seed + 1), held)


def _thresholds(model: Any, check_ex: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    scored = best_scores(model, check_ex)
    first, first_right = threshold_for([(s, o, r) for s, o, r, step in scored if step == 0])
    later, later_right = threshold_for([(s, o, r) for s, o, r, step in scored if step > 0])
    return {"min_similarity": first, "next_min_similarity": later,
            "decisions_right_on_held_out_domains": {"first_step": first_right, "after_a_result": later_right}}


# ---------------------------------------------------------------- use
class ToolChooser:
    """Decides each step of a tool-using turn: which tool to call next, or none.

    Args:
        scorer: a :class:`~plait.chains.scorer.UnitScorer` loaded from a tool-scorer folder.
    """

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer
        self.first = float(scorer.min_similarity)
        self.later = float(scorer.info.get("next_min_similarity", scorer.min_similarity))
        self._cards: dict[str, list[float]] = {}

    @classmethod
    def load(cls, folder: str | Path) -> ToolChooser:
        """A chooser from a folder written by :func:`train_tool_scorer` (loaded once per process and folder)."""
        return _load(str(Path(folder).expanduser().resolve()))

    @classmethod
    def packaged(cls) -> ToolChooser:
        """The tool scorer that ships with plait."""
        return cls.load(TOOL_SCORER)

    def scores(self, request: str, tools: Sequence[Any], done: Sequence[tuple[str, Any]] = ()) -> list[tuple[float, Any]]:
        """Similarity of the step's query to each tool not yet called, best first."""
        import numpy as np

        called = {name for name, _ in done}
        left = [t for t in tools if t.name not in called]
        cards = [tool_card(spec_of(t)) for t in left]
        missing = [c for c in cards if c not in self._cards]
        if missing:
            self._cards.update(zip(missing, self.scorer.embeddings.embed_documents(missing)))
        query = np.asarray(self.scorer.embeddings.embed_query(step_query(request, done)))
        sims = [float(np.asarray(self._cards[c]) @ query) for c in cards]
        return sorted(zip(sims, left), key=lambda pair: -pair[0])

    def choose(self, request: str, tools: Sequence[Any], done: Sequence[tuple[str, Any]] = ()) -> Any:
        """The tool to call next, or None when the request needs no (further) tool."""
        ranked = self.scores(request, tools, done)
        if not ranked:
            return None
        best, tool = ranked[0]
        return tool if best >= (self.later if done else self.first) else None


@lru_cache(maxsize=4)
def _load(folder: str) -> ToolChooser:
    # An agent is often built per request; loading MiniLM and its adapter each time would cost seconds.
    from plait.chains.scorer import load_scorer

    return ToolChooser(load_scorer(folder))


def main(argv: list[str] | None = None) -> None:
    """``python -m plait.agents.tool_choice [--out FOLDER] [--cases N] [--extra my_cases.jsonl]``."""
    parser = argparse.ArgumentParser(description="Train the tool scorer (which tool next, or none).")
    parser.add_argument("--out", type=Path, default=TOOL_SCORER)
    parser.add_argument("--cases", type=int, default=ToolScorerOptions.cases, help="synthetic cases")
    parser.add_argument("--epochs", type=int, default=ToolScorerOptions.epochs)
    parser.add_argument("--extra", type=Path, help="your own cases (JSONL, plait.agents.tool_data format)")
    parser.add_argument("--thresholds-from", type=Path,
                        help="skip measuring the thresholds: take them from this scorer's scorer.json (same recipe)")
    args = parser.parse_args(argv)
    thresholds = json.loads((args.thresholds_from / "scorer.json").read_text(encoding="utf-8")) \
        if args.thresholds_from else None
    extra = []
    if args.extra:
        from plait.agents.tool_training import read_cases

        extra = read_cases(args.extra)
    try:
        manifest = train_tool_scorer(args.out, options=replace(ToolScorerOptions(), cases=args.cases,
                                                                epochs=args.epochs), extra_cases=extra,
                                     thresholds=thresholds)
    except ValueError as exc:
        raise PlaitError(f"Could not train the tool scorer: {exc}") from exc
    print(json.dumps(manifest, indent=2), file=sys.stderr)


if __name__ == "__main__":
    main()
