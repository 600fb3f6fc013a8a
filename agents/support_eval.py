"""Scoring the support assistant on whole conversations (``plait eval run support --data conversations.jsonl``).

A conversation is ``{"id", "turns": [TURN, ...]}``; each TURN names the customer's ``message``,
the expected ``route`` (``primary/topic``), ``facts`` a right reply contains (``"a|b"``: either),
``must_not`` strings, the order statuses in ``db_after``, whether the reply asks to ``confirm`` a
cancellation, the ``approval`` a person gives when asked (``approve``/``reject``/null: not asked),
whether it is a ``handoff`` and the ``summary_facts`` of the colleague's note. Every conversation
runs on a fresh copy of the example shop database in a new thread. A turn succeeds when every
check holds; a conversation when all its turns do.

Example:
    >>> from plait.agents.support_eval import turn_failures
    >>> turn_failures({"message": "hi", "route": "chit_chat/greeting", "facts": ["help"]},
    ...               {"route": "chit_chat", "answer": "Hello! How can I help?"}, {}, asked=False)
    []
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from plait.agents.support_routing import action_of
from plait.tools import shop_database


def _has(text: str, fact: str) -> bool:
    return any(option.strip().lower() in text.lower() for option in fact.split("|") if option.strip())


def turn_failures(turn: dict[str, Any], state: dict[str, Any], statuses: dict[str, str], *, asked: bool) -> list[str]:
    """What is wrong with one turn's outcome (empty: the turn succeeded). ``asked``: a person was asked to approve."""
    answer, failures = state.get("answer", ""), []
    if state.get("route") != action_of(turn["route"]):
        failures.append(f"route {state.get('route')!r}, expected {action_of(turn['route'])!r}")
    failures += [f"missing fact {f!r}" for f in turn.get("facts", []) if not _has(answer, f)]
    failures += [f"states {f!r}" for f in turn.get("must_not", []) if _has(answer, f)]
    failures += [f"order {o} is {statuses.get(o)!r}, expected {s!r}" for o, s in (turn.get("db_after") or {}).items()
                 if statuses.get(o) != s]
    confirming = (state.get("pending") or {}).get("kind") == "confirm_cancel"
    if bool(turn.get("confirm")) != confirming:
        failures.append("asked to confirm a cancellation" if confirming else "did not ask to confirm the cancellation")
    if bool(turn.get("approval")) != asked:
        failures.append("asked a person to approve" if asked else "no person was asked to approve")
    if bool(turn.get("handoff")) != (state.get("route") == "handoff"):
        failures.append("handed off" if state.get("route") == "handoff" else "did not hand off")
    failures += [f"summary lacks {f!r}" for f in turn.get("summary_facts", []) if not _has(state.get("summary", ""), f)]
    return failures


def _statuses(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT id, status FROM orders").fetchall())


def run_conversation(build: Callable[..., Any], conversation: dict[str, Any]) -> dict[str, Any]:
    """Play ``conversation`` against ``build(db=..., checkpointer=..., approval=True)``; return per-turn results."""
    with tempfile.TemporaryDirectory() as folder:
        db = shop_database(Path(folder) / "shop.db")
        graph = build(db=db, checkpointer=InMemorySaver(), approval=True)
        config = {"configurable": {"thread_id": f"eval-{uuid.uuid4().hex[:8]}"}}
        turns = []
        for turn in conversation["turns"]:
            started = time.perf_counter()
            out = graph.invoke({"message": turn["message"]}, config)
            asked = bool(out.get("__interrupt__"))
            if asked:  # the person's decision, as the set says (a question nobody expected is rejected)
                out = graph.invoke(Command(resume=turn.get("approval") or "reject"), config)
            state = graph.get_state(config).values
            failures = turn_failures(turn, state, _statuses(db), asked=asked)
            turns.append({"message": turn["message"], "expected": action_of(turn["route"]), "route": state.get("route"),
                          "answer": state.get("answer", ""), "summary": state.get("summary", ""),
                          "failures": failures, "seconds": round(time.perf_counter() - started, 3)})
    ok = [not t["failures"] for t in turns]
    return {"id": conversation.get("id"), "route": f"{sum(ok)}/{len(ok)} turns", "turns": turns,
            "route_accuracy": sum(t["route"] == t["expected"] for t in turns) / len(turns),
            "turn_success": sum(ok) / len(ok), "conversation_success": float(all(ok)),
            "seconds_per_turn": sum(t["seconds"] for t in turns) / len(turns)}


def conversation_metric(name: str) -> Any:
    """The metric reading ``name`` from a conversation's result (route_accuracy, turn_success, ...)."""
    from plait.evaluate.metrics import Metric

    def score(case: Any) -> float | None:
        return case.output.get(name)
    return Metric(name, score, higher_is_better=name != "seconds_per_turn",
                  description=f"support conversations: {name.replace('_', ' ')}")


CONVERSATION_METRICS = ("route_accuracy", "turn_success", "conversation_success", "seconds_per_turn")
