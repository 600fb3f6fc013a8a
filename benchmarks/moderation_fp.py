"""Moderation false-positive rate on ordinary banking support messages (BANKING77), local layers only.

Two sets of 300 rows: the evaluation carve shared with the other benchmarks (seen while
writing plait's moderation data, so optimistic) and 300 other rows never looked at.

    .venv/bin/python benchmarks/moderation_fp.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402
from banking77 import carve, load_rows  # noqa: E402

from plait.chains import moderator  # noqa: E402


def rate(check, texts: list[str]) -> dict:
    started = time.perf_counter()
    results = [(text, check.invoke(text)) for text in texts]
    flagged = [(text, r.decision, r.reasons) for text, r in results if r.decision != "allow"]
    return {"rows": len(texts), "not_allowed": len(flagged), "false_positive_rate": round(len(flagged) / len(texts), 4),
            "ms_per_message": round((time.perf_counter() - started) / len(texts) * 1000, 1),
            "examples": flagged[:10]}


def main() -> None:
    evaluation, _, _ = carve(300)
    seen = {text for text, _ in evaluation}
    fresh = [text for text, _ in load_rows() if text not in seen]
    random.Random(1).shuffle(fresh)
    check = moderator()
    check.invoke("warm up")
    write("moderation_fp", {
        "goal": "false_positive_rate < 0.02",
        "evaluation_carve": rate(check, [text for text, _ in evaluation]),
        "unseen_rows": rate(check, fresh[:300]),
    })


if __name__ == "__main__":
    main()
