"""The support assistant's order actions: status through ``lookup_order``, cancelling through ``cancel_order``.

Cancelling is a small dialogue kept in the thread's state (``pending``): the assistant looks the
order up, refuses what can't be cancelled (shipped, delivered, returned, cancelled), asks the
customer to confirm, and, when approval is on, pauses for a person (LangGraph ``interrupt``)
before the tool changes the database. Resume with ``Command(resume="approve")`` or ``"reject"``,
from the same process or another one on the same checkpointer.

Example:
    >>> from plait.agents.support_orders import yes_or_no
    >>> yes_or_no("yes please, go ahead"), yes_or_no("actually no, keep it"), yes_or_no("where is it?")
    ('yes', 'no', None)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langgraph.types import interrupt

from plait.agents.prompts import (CANCEL_APPROVAL, CANCEL_CONFIRM, CANCEL_DONE, CANCEL_FAILED, CANCEL_KEPT,
                                  CANCEL_NOT_APPROVED, CANCEL_REFUSED, CONFIRM_AGAIN, ORDER_NEEDS_ID, ORDER_NOT_FOUND,
                                  ORDER_REPLY, ORDER_TRACKING)
from plait.tools import order_tools

ORDER_ID = re.compile(r"\b([A-Za-z]\d{4})\b")
_FILLER = re.compile(r"^(?:\W|actually|um+|erm*|hmm+|oh|well|ah|so|then|and|sorry|ok(?:ay)? so)+\b", re.I)
_YES = re.compile(r"^(?:yes|yeah|yea|yep|yup|ya|y|sure|ok|okay|please do|go ahead|do it|confirm(?:ed)?|correct|"
                  r"absolutely|definitely|of course|cancel it|please cancel|that'?s right|right|go for it|alright|fine)\b", re.I)
_NO = re.compile(r"^(?:no|nope|nah|n|don'?t|do not|keep|never ?mind|not now|wait|stop|leave it|hold on)\b",
                 re.I)
_NO_ANYWHERE = re.compile(r"\b(?:don'?t cancel|do not cancel|keep it|leave it|changed my mind|never ?mind|not cancel)\b",
                          re.I)
APPROVED = frozenset({"approve", "approved", "yes", "y", "true", "ok"})
"""Resume values that approve a cancellation; anything else rejects it."""


def yes_or_no(message: str) -> str | None:
    """``yes``, ``no``, or None when ``message`` is not a clear answer to a yes/no question."""
    text = _FILLER.sub("", message.strip()).strip(" ,.!")
    if _NO_ANYWHERE.search(message) or _NO.match(text):
        return "no"
    if _YES.match(text):
        return "yes"
    return None


def order_id_in(message: str) -> str | None:
    """The first order id (a letter and four digits) in ``message``, upper-cased."""
    match = ORDER_ID.search(message)
    return match.group(1).upper() if match else None


def order_ids_in(message: str, limit: int = 3) -> list[str]:
    """Every order id in ``message`` (at most ``limit``), upper-cased, first mention first."""
    found: list[str] = []
    for match in ORDER_ID.finditer(message):
        if match.group(1).upper() not in found:
            found.append(match.group(1).upper())
    return found[:limit]


def _items(order: dict[str, Any]) -> str:
    return ", ".join(order["items"])


class OrderDesk:
    """The order tools of one shop database, and the replies built from what they return."""

    def __init__(self, db: str | Path | None) -> None:
        tools = {t.name: t for t in order_tools(db)}
        self.lookup_tool, self.cancel_tool = tools["lookup_order"], tools["cancel_order"]

    def lookup(self, order_id: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """(the order, or None when there is none; the tool call as recorded in state)."""
        result = self.lookup_tool.invoke({"order_id": order_id})
        call = {"tool": self.lookup_tool.name, "args": {"order_id": order_id}, "result": result}
        try:
            return json.loads(result), call
        except json.JSONDecodeError:  # the tool explained why it found nothing
            return None, call

    def status(self, order: dict[str, Any]) -> str:
        tracking = ORDER_TRACKING.format(**order) if order.get("tracking") else ""
        return ORDER_REPLY.format(**{**order, "tracking": tracking, "items": _items(order)})

    def cancel(self, order_id: str) -> tuple[bool, dict[str, Any]]:
        result = self.cancel_tool.invoke({"order_id": order_id})
        return "is cancelled" in result, {"tool": self.cancel_tool.name, "args": {"order_id": order_id},
                                          "result": result}


def orders_node(desk: OrderDesk) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Status or cancellation of the order named in the message, else the one under discussion."""
    def orders(state: dict[str, Any]) -> dict[str, Any]:
        action = state["route"]
        order_id = order_id_in(state["message"]) or state.get("order_id")
        if not order_id:
            return {"answer": ORDER_NEEDS_ID, "pending": {"kind": "order_id", "action": action}}
        order, call = desk.lookup(order_id)
        if order is None:
            return {"answer": ORDER_NOT_FOUND.format(id=order_id), "tool_calls": [call],
                    "pending": {"kind": "order_id", "action": action}}
        update: dict[str, Any] = {"tool_calls": [call], "order_id": order_id, "pending": None}
        if action == "order_status":
            return {**update, **_statuses(desk, order, call, order_ids_in(state["message"]))}
        if order["status"] != "processing":
            refusal = CANCEL_REFUSED.get(order["status"], CANCEL_REFUSED["shipped"])
            return {**update, "answer": refusal.format(**order)}
        return {**update, "answer": CANCEL_CONFIRM.format(**{**order, "items": _items(order)}),
                "pending": {"kind": "confirm_cancel", "order_id": order_id}}
    return orders


def _statuses(desk: OrderDesk, first: dict[str, Any], call: dict[str, Any], named: list[str]) -> dict[str, Any]:
    """The status of the first order, and of the others the message names ("A1001 and A1002, have they come?")."""
    answers, calls = [desk.status(first)], [call]
    for order_id in named[1:]:
        order, more = desk.lookup(order_id)
        answers.append(desk.status(order) if order else ORDER_NOT_FOUND.format(id=order_id))
        calls.append(more)
    return {"answer": " ".join(answers), "tool_calls": calls}


def confirm_node(desk: OrderDesk, *, approval: bool) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The customer's answer to "Shall I cancel it?"; with ``approval``, a person decides before the tool runs."""
    def confirm(state: dict[str, Any]) -> dict[str, Any]:
        order_id = state["pending"]["order_id"]
        answer = yes_or_no(state["message"])
        if answer is None:
            return {"answer": CONFIRM_AGAIN.format(id=order_id)}
        if answer == "no":
            return {"answer": CANCEL_KEPT.format(id=order_id), "pending": None}
        order, call = desk.lookup(order_id)  # it may have shipped since the question
        if order is None or order["status"] != "processing":
            reason = "it has changed since I asked." if order is None else \
                CANCEL_REFUSED.get(order["status"], CANCEL_REFUSED["shipped"]).format(**order)
            return {"answer": CANCEL_FAILED.format(id=order_id, reason=reason), "tool_calls": [call], "pending": None}
        if approval:
            # Runs again from the top when resumed: everything before this line only reads.
            decision = interrupt({"question": CANCEL_APPROVAL.format(**{**order, "items": _items(order)}),
                                  "action": "cancel_order", "order_id": order_id,
                                  "conversation": [t["customer"] for t in state.get("history", [])] + [state["message"]]})
            if str(decision).strip().lower() not in APPROVED:
                return {"answer": CANCEL_NOT_APPROVED.format(id=order_id, status=order["status"]),
                        "tool_calls": [call], "pending": None, "approval": "rejected"}
        done, cancel_call = desk.cancel(order_id)
        answer = CANCEL_DONE.format(id=order_id) if done else \
            CANCEL_FAILED.format(id=order_id, reason=cancel_call["result"])
        return {"answer": answer, "tool_calls": [call, cancel_call], "pending": None,
                "approval": "approved" if approval else "not required"}
    return confirm
