"""Retrieval eval on the example help centre: recall@1 and recall@5 (goal recall@5 >= 0.9).

Each question in examples/helpcentre_eval.jsonl names the one article of the packaged example
help centre (plait.agents' data/helpcentre) that answers it; a hit counts when a chunk of that
article is among the top k. Also compares plait's search with raw chromadb +
sentence-transformers on the same collection (query time ratio).

    .venv/bin/python benchmarks/retrieval_eval.py [--mmr]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402

from plait.agents import example_help_centre  # noqa: E402
from plait.retrieval import ingest, search, vector_store  # noqa: E402

EVAL_SET = Path(__file__).resolve().parents[1] / "examples" / "helpcentre_eval.jsonl"


def load_eval() -> list[dict]:
    return [json.loads(line) for line in EVAL_SET.read_text().splitlines() if line.strip()]


def recall(store, questions: list[dict], k: int, mmr: bool) -> tuple[float, float, list[dict]]:
    at1 = at_k = 0
    misses = []
    for item in questions:
        names = [Path(h.source).name for h in search(item["question"], store=store, k=k, mmr=mmr)]
        at1 += bool(names) and names[0] == item["article"]
        at_k += item["article"] in names
        if item["article"] not in names:
            misses.append({"question": item["question"], "expected": item["article"], "got": names[:3]})
    return at1 / len(questions), at_k / len(questions), misses


def raw_query_seconds(store, questions: list[dict], k: int) -> float:
    """The same queries through sentence-transformers + chromadb directly."""
    model, collection = store.embeddings.model, store._collection
    started = time.perf_counter()
    for item in questions:
        vector = model.encode([item["question"]], normalize_embeddings=True)[0].tolist()
        collection.query(query_embeddings=[vector], n_results=k, include=["documents", "metadatas", "distances"])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mmr", action="store_true")
    args = parser.parse_args()
    questions = load_eval()
    with tempfile.TemporaryDirectory() as tmp:
        store = vector_store("helpcentre-eval", path=tmp)
        report = ingest([example_help_centre()], store=store)
        search("warm up", store=store)
        started = time.perf_counter()
        r1, r5, misses = recall(store, questions, 5, args.mmr)
        plait_seconds = time.perf_counter() - started
        raw_seconds = raw_query_seconds(store, questions, 5)
    write("retrieval_eval", {
        "questions": len(questions), "articles": report.files_new, "chunks": report.chunks_added,
        "mmr": args.mmr, "recall_at_1": round(r1, 4), "recall_at_5": round(r5, 4), "goal": "recall_at_5 >= 0.9",
        "ingest_seconds": round(report.seconds, 2),
        "ms_per_query_plait": round(plait_seconds / len(questions) * 1000, 2),
        "ms_per_query_raw": round(raw_seconds / len(questions) * 1000, 2),
        "ratio_raw_over_plait_speed": round(raw_seconds / plait_seconds, 3),
        "misses": misses,
    })


if __name__ == "__main__":
    main()
