"""What the support assistant keeps between turns, and the replies it builds from it.

A thread's state holds a bounded ``history`` (customer message, reply, action per turn) and the
order under discussion; the hand-off summary is built from that history, so a colleague reads
the whole conversation and nothing invented. Chit-chat replies come from per-topic templates;
``generated_chat`` is the measured alternative (a model writes, a check keeps only polite,
on-topic replies).

Example:
    >>> handoff_summary([{"customer": "Where is A1002?", "reply": "...", "action": "order_status"}],
    ...                 "this is useless, get me a manager", "complaint", ["A1002"])
    'Complaint. Latest message: "this is useless, get me a manager". Orders discussed: A1002. Earlier: "Where is A1002?" (order_status).'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from plait.agents.prompts import CHAT_INTENTS, CHAT_TEMPLATES, HANDOFF_SUMMARY

HISTORY_TURNS = 10
"""Turns a thread remembers (older ones are dropped): enough for a support conversation, bounded in size."""
TOPIC_NAMES = {"complaint": "Complaint", "human_request": "Customer asks for a person", "": "Needs a person"}
REFUSALS = re.compile(r"\b(can'?t|cannot|unable to|not able to|won'?t) (help|assist)|\bas an ai\b|\bi don'?t know\b",
                      re.I)
CHAT_MATCH = 0.6
"""Least similarity of a generated chit-chat reply to one of its topic's acceptable replies for it to be used."""


def remember(history: Sequence[dict[str, Any]], message: str, reply: str, action: str) -> list[dict[str, Any]]:
    """``history`` with this turn appended, keeping the last :data:`HISTORY_TURNS` turns."""
    turn = {"customer": message, "reply": reply, "action": action}
    return [*history, turn][-HISTORY_TURNS:]


def orders_mentioned(history: Sequence[dict[str, Any]], message: str, pattern: re.Pattern[str]) -> list[str]:
    """Order ids the customer mentioned, first mention first, without repeats."""
    seen: list[str] = []
    for text in [*(t["customer"] for t in history), message]:
        for found in pattern.findall(text):
            if found.upper() not in seen:
                seen.append(found.upper())
    return seen


def handoff_summary(history: Sequence[dict[str, Any]], message: str, topic: str, orders: Sequence[str],
                    *, earlier: int = HISTORY_TURNS) -> str:
    """One paragraph for the colleague taking over: why, the latest message, orders, and the earlier turns."""
    shown = [f'"{t["customer"]}" ({t["action"]})' for t in history[-earlier:]]
    return HANDOFF_SUMMARY.format(
        topic=TOPIC_NAMES.get(topic, TOPIC_NAMES[""]), message=message.strip(),
        orders=f" Orders discussed: {', '.join(orders)}." if orders else "",
        earlier=f" Earlier: {'; '.join(shown)}." if shown else "")


def template_chat(topic: str) -> str:
    """The chit-chat template of ``topic`` (greeting for unknown topics)."""
    return CHAT_TEMPLATES.get(topic, CHAT_TEMPLATES["greeting"])


def chat_check(embed: Callable[[list[str]], np.ndarray]) -> Callable[[str, str], bool]:
    """A check that a generated chit-chat reply is polite and on-topic: no refusal, and close to one of the
    topic's acceptable replies (:data:`~plait.agents.prompts.CHAT_INTENTS` and its template)."""
    anchors = {topic: embed([CHAT_TEMPLATES[topic], *CHAT_INTENTS.get(topic, [])]) for topic in CHAT_TEMPLATES}

    def ok(reply: str, topic: str) -> bool:
        if not reply.strip() or REFUSALS.search(reply) or len(reply) > 400:
            return False
        similarity = float((anchors.get(topic, anchors["greeting"]) @ embed([reply])[0]).max())
        return similarity >= CHAT_MATCH
    return ok
