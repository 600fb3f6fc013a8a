"""Does this message need a tool at all? A request-only check before the tool scorer's first step.

The tool scorer compares a request with tool cards, so a question *about* the tools' world
("how does a tiebreak work?" beside ``book_court``) sits as close to a card as a booking does,
and the turn calls a tool it should not. Whether a message asks to do or look something up, or
only to talk (thanks, greetings, how-to and general questions, things no service does), does not
depend on the tools: an embedding head (MiniLM + character n-grams, :func:`plait.finetune.head.train_head`)
trained on messages written for it (``agents/data/tool_need.jsonl``, 30 everyday domains, same topics
under both labels) plus the synthetic cases' requests decides it. It only vetoes: a message it
is sure needs no tool (``p_none >= threshold``, measured out of fold) gets an answer; everything
else goes to the scorer as before.

Example:
    >>> need = ToolNeed.packaged()  # doctest: +SKIP
    >>> need.needs_tool("cheers mate, that's everything"), need.needs_tool("cancel BK-2231 pls")  # doctest: +SKIP
    (False, True)
    >>> python -m plait.agents.tool_need  # rebuild the packaged head (~1 min on 2 cores)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from plait.errors import PlaitError

TOOL_NEED = Path(__file__).parent / "data" / "tool-need"
"""The packaged head (``head.npz``, ``adapter.json`` with its threshold)."""
MESSAGES = Path(__file__).parent / "data" / "tool_need.jsonl"
"""Messages written for the head: ``{"text", "label": "tool" | "none", "domain"}``."""
MAX_TOOLS_BLOCKED = 0.01
"""The threshold is the lowest that wrongly vetoes at most this share of out-of-fold tool messages."""
SYNTHETIC = 1200
"""Synthetic cases whose requests join the written messages (no-tool ones only when they need no tool
anywhere: greetings, thanks, small talk, knowledge; "the tools here cannot do that" is the scorer's call)."""


def read_messages(path: str | Path = MESSAGES) -> list[dict[str, str]]:
    """The written messages; a line without text, a known label and a domain is an error naming it."""
    from plait.records import read_records

    out = []
    for line, row in read_records(path, format="jsonl"):
        if row.get("label") not in ("tool", "none") or not str(row.get("text", "")).strip():
            raise PlaitError(f"{path}:{line}: each line needs a non-empty \"text\" and a \"label\" of tool or none; "
                             f"got {row!r:.120}.")
        out.append({"text": str(row["text"]), "label": str(row["label"]), "domain": str(row.get("domain", ""))})
    return out


def messages_hash(path: str | Path = MESSAGES) -> str:
    """sha256 of the written messages: the packaged head records the file it was trained on."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def synthetic_messages(n: int = SYNTHETIC, *, seed: int = 0) -> list[dict[str, str]]:
    """Requests of synthetic cases: "tool" for calls, "none" for the ones no tool anywhere would serve."""
    from plait.agents.tool_choice import _domain_of, case_domain
    from plait.agents.tool_data import synthetic_cases
    from plait.agents.tool_talk import NOPE

    cant = {request for pairs in NOPE.values() for request, _ in pairs}
    domains = _domain_of()
    out = []
    for case in synthetic_cases(n, seed=seed):
        request = str(case["request"])
        if case["kind"] == "none" and any(request.endswith(c) or c in request for c in cant):
            continue
        out.append({"text": request, "label": "none" if case["kind"] == "none" else "tool",
                    "domain": f"synthetic:{case_domain(case, domains)}"})
    return out


def out_of_fold(rows: Sequence[dict[str, str]], *, folds: int = 5, seed: int = 0) -> list[float]:
    """p(none) of every row from a head trained on the other domains' rows (folds by domain)."""
    import tempfile

    from plait.finetune.head import HeadClassifier, train_head_into

    names = sorted({r["domain"] for r in rows})
    random.Random(seed).shuffle(names)
    fold_of = {d: i % folds for i, d in enumerate(names)}
    scores = [0.0] * len(rows)
    for fold in range(folds):
        train = [r for r in rows if fold_of[r["domain"]] != fold]
        with tempfile.TemporaryDirectory() as tmp:
            folder = train_head_into(Path(tmp) / "fold", [r["text"] for r in train], [r["label"] for r in train],
                                     chars=True, progress=False)
            head = HeadClassifier(folder)
            held = [i for i, r in enumerate(rows) if fold_of[r["domain"]] == fold]
            probs = head.probabilities([rows[i]["text"] for i in held])
            for i, p in zip(held, probs[:, head.classes.index("none")]):
                scores[i] = float(p)
    return scores


def threshold_for(scores: Sequence[float], labels: Sequence[str], *, max_blocked: float = MAX_TOOLS_BLOCKED
                  ) -> dict[str, float]:
    """The lowest p(none) threshold that vetoes at most ``max_blocked`` of the tool messages, and what it catches."""
    tools = sorted((s for s, label in zip(scores, labels) if label == "tool"), reverse=True)
    nones = [s for s, label in zip(scores, labels) if label == "none"]
    allowed = int(max_blocked * len(tools))
    # Rounded up: a stored threshold rounded down could veto the very tool message it was set above.
    cut = min(1.0, math.floor(tools[allowed] * 1e4 + 1) / 1e4) if len(tools) > allowed else 0.0
    return {"threshold": cut, "none_caught": round(sum(s >= cut for s in nones) / max(len(nones), 1), 4),
            "tool_blocked": round(sum(s >= cut for s in tools) / max(len(tools), 1), 4)}


def train_tool_need(out: str | Path = TOOL_NEED, *, messages: str | Path = MESSAGES,
                    synthetic: int = SYNTHETIC) -> dict[str, Any]:
    """Train the head on the written and synthetic messages into ``out``; the threshold is measured out of fold."""
    from plait.finetune.head import train_head_into

    rows = [*read_messages(messages), *synthetic_messages(synthetic)]
    written = [r for r in rows if not r["domain"].startswith("synthetic:")]
    scores = out_of_fold(rows)
    measured = threshold_for([s for s, r in zip(scores, rows) if r in written], [r["label"] for r in written])
    out = Path(out)
    train_head_into(out, [r["text"] for r in rows], [r["label"] for r in rows], chars=True, progress=False,
                    data_hash=messages_hash(messages))
    info = {**measured, "measured": "out of fold (folds by domain) on the written messages",
            "written_messages": len(written), "synthetic_messages": len(rows) - len(written),
            "rebuild": "python -m plait.agents.tool_need"}
    (out / "tool_need.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


class ToolNeed:
    """The request-only veto: ``needs_tool(text)`` is False only when the head is sure no tool is needed."""

    def __init__(self, folder: str | Path) -> None:
        from plait.finetune.head import HeadClassifier

        folder = Path(folder)
        try:
            self.threshold = float(json.loads((folder / "tool_need.json").read_text(encoding="utf-8"))["threshold"])
            self.head = HeadClassifier(folder)
        except (OSError, KeyError, ValueError) as exc:
            raise PlaitError(f"{folder} is not a tool-need head ({exc}); rebuild it with "
                             "`python -m plait.agents.tool_need --out FOLDER`.") from exc

    @classmethod
    def packaged(cls) -> ToolNeed:
        """The head that ships with plait (loaded once per process)."""
        return _load(str(TOOL_NEED))

    def p_none(self, text: str) -> float:
        """Probability that ``text`` needs no tool."""
        return float(self.head.probabilities([text])[0][self.head.classes.index("none")])

    def needs_tool(self, text: str) -> bool:
        """False when the message surely needs no tool (thanks, greetings, general questions); else True."""
        return self.p_none(text) < self.threshold


@lru_cache(maxsize=4)
def _load(folder: str) -> ToolNeed:
    return ToolNeed(folder)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=TOOL_NEED)
    parser.add_argument("--messages", type=Path, default=MESSAGES)
    args = parser.parse_args()
    print(json.dumps(train_tool_need(args.out, messages=args.messages), indent=2))
