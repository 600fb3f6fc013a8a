"""Train the packaged evidence ranker (plait/chains/data/evidence_ranker.json) on the dev questions.

finetune/data/helpcentre_dev.jsonl holds questions written apart from the evaluation set
(examples/helpcentre_facts.jsonl, never read here), each naming the fact strings its answer
contains. For each in-scope question, every candidate unit of the retrieved chunks is a row;
it is positive when it holds all the facts. The out-of-scope threshold is the best-unit score
that separates in-scope from out-of-scope dev questions (refusing >= 95% of those out of scope).
Reports article-grouped 5-fold cross-validated top-1 accuracy before fitting on everything.

    .venv/bin/python benchmarks/train_evidence_ranker.py [--check]   # --check: report only, write nothing

For your own documents: --docs FOLDER --data QUESTIONS.jsonl [...] --out my_ranker.json, then
``rag(..., ranker=LinearRanker.load("my_ranker.json"))``. Each question line is
{"question", "article" (file name), "facts": [strings the answer contains], "out_of_scope": bool}.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402
from rag_facts import normal  # noqa: E402

from plait.agents import example_help_centre  # noqa: E402
from plait.chains.evidence import Evidence, UnitVectors, candidates, features, normalise_question  # noqa: E402
from plait.chains.rag import DEFAULT_THRESHOLD  # noqa: E402
from plait.chains.ranker import fit_ranker  # noqa: E402
from plait.retrieval import ingest, search, vector_store  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEV = [ROOT / "finetune" / "data" / name for name in ("helpcentre_dev.jsonl", "helpcentre_dev_chat.jsonl")]
OUT = ROOT / "chains" / "data" / "evidence_ranker.json"
K = 6


def groups(store, items: list[dict], vectors: UnitVectors) -> list[dict]:
    """Per question: feature rows, labels, article."""
    out = []
    for item in items:
        question = normalise_question(item["question"])
        found = candidates(search(question, store=store, k=K, threshold=DEFAULT_THRESHOLD))
        if not found:
            out.append({"item": item, "rows": None, "labels": None})
            continue
        labels = [float(all(normal(f) in normal(Evidence(u, 0.0, 0.0, h).quote()) for f in item["facts"]))
                  if not item["out_of_scope"] else 0.0 for u, h in found]
        out.append({"item": item, "rows": features(question, found, vectors), "labels": np.asarray(labels)})
    return out


def top1(ranker, data: list[dict]) -> float:
    answerable = [d for d in data if d["labels"] is not None and d["labels"].any()]
    return sum(d["labels"][int(np.argmax(ranker.score(d["rows"])))] == 1 for d in answerable) / len(answerable)


def fit(data: list[dict], c: float):
    train = [d for d in data if d["labels"] is not None and not d["item"]["out_of_scope"]]
    return fit_ranker(np.vstack([d["rows"] for d in train]), np.concatenate([d["labels"] for d in train]), c=c)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--docs", type=Path, default=None, help="documents folder (default: the example help centre)")
    parser.add_argument("--data", type=Path, nargs="+", default=DEV)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    items = [json.loads(line) for path in args.data for line in path.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        store = vector_store("ranker-train", path=tmp)
        ingest([args.docs or example_help_centre()], store=store)
        data = groups(store, items, UnitVectors(store.embeddings))
    articles = sorted({d["item"]["article"] for d in data if d["item"]["article"]})
    folds = [articles[i::5] for i in range(5)]
    cv = []
    for held in folds:
        ranker = fit([d for d in data if d["item"]["article"] not in held], args.c)
        cv.append(top1(ranker, [d for d in data if d["item"]["article"] in held]))
    ranker = fit(data, args.c)
    best = {d["item"]["id"]: float(ranker.score(d["rows"]).max()) if d["rows"] is not None else 0.0 for d in data}
    outside = sorted(best[d["item"]["id"]] for d in data if d["item"]["out_of_scope"])
    threshold = round(outside[int(0.95 * len(outside))] + 1e-4, 4)  # refuse >= 95% of the dev out-of-scope
    inside_kept = np.mean([best[d["item"]["id"]] >= threshold for d in data if not d["item"]["out_of_scope"]])
    ranker = type(ranker)(ranker.weights, ranker.bias, ranker.mean, ranker.scale, threshold)
    if not args.check:
        ranker.save(args.out)
    write("train_evidence_ranker", {
        "dev_questions": len(items), "candidates_per_question": round(np.mean([len(d["rows"]) for d in data
                                                                              if d["rows"] is not None]), 1),
        "cv_top1_by_article_folds": [round(x, 4) for x in cv], "cv_top1_mean": round(float(np.mean(cv)), 4),
        "train_top1": round(top1(ranker, data), 4), "threshold": threshold,
        "dev_in_scope_answered_at_threshold": round(float(inside_kept), 4), "c": args.c,
        "weights": dict(zip(ranker.features, [round(w, 3) for w in ranker.weights])), "written": not args.check})


if __name__ == "__main__":
    main()
