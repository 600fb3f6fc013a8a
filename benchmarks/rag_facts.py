"""Help-centre fact accuracy of the RAG answer paths on the local model.

Each in-scope question of examples/helpcentre_facts.jsonl (written apart from the articles'
wording and from plait's prompts) names the fact strings a right answer contains; out-of-scope
questions must get "don't know". For every answer path this reports:

- fact accuracy: the answer contains every fact (case and dash insensitive) and, for yes/no
  questions, does not open with the opposite "Yes"/"No";
- contradictions: a wrong answer that opens with the opposite "Yes"/"No", or that states a number
  of the same kind as the fact's (a price for a price, a duration for a duration) with another value;
- out-of-scope refusals, and seconds per question (same machine, same run).

Paths: ``today`` (generation from the retrieved chunks with the RAG prompt as it was before,
worked example included), ``generate`` (the same without the example), ``extractive-minilm``
(quoted evidence ranked by MiniLM and the linear ranker, the default before the scorer),
``extractive`` (the default: quoted evidence ranked by the help centre's adapted scorer),
``checked`` (model answer under the faithfulness check, else evidence; scorer-ranked) and
``checked-minilm``.

    .venv/bin/python benchmarks/rag_facts.py [--modes extractive,checked] [--set FILE ...] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402

from plait.agents import example_help_centre, help_centre_scorer  # noqa: E402
from plait.chains import rag  # noqa: E402
from plait.chains.faithful import claims  # noqa: E402
from plait.prompts import prompt  # noqa: E402
from plait.retrieval import ingest, vector_store  # noqa: E402

EVAL_SET = Path(__file__).resolve().parents[1] / "examples" / "helpcentre_facts.jsonl"
TODAY = prompt("rag", [  # the RAG prompt before #14, kept here only to measure the old path
    ("system", "You answer customers' questions using only the numbered passages. Cite the passages you "
               "use like [1]. If the passages do not contain the answer, say that you don't know."),
    ("human", "Passages:\n[1] Delivery costs — Standard delivery: Standard delivery costs £3.95 and takes 3-5 "
              "working days.\n[2] Gift cards — Using a gift card: Enter the gift card code at checkout.\n\n"
              "Question: how much do you charge for delivery?"),
    ("ai", "Standard delivery costs £3.95 and takes 3-5 working days [1]."),
    ("human", "Passages:\n{context}\n\nQuestion: {question}"),
])
LEAD = re.compile(r"^\W*(yes|no)\b", re.I)
DONT_KNOW = re.compile(r"\b(don't know|do not know|not sure|cannot find|could not find|can't find)\b", re.I)


def normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("–", "-").replace("—", "-").replace("’", "'")).lower()


def judge(item: dict, answer: str, knew: bool) -> dict:
    """Score one answer: correct, contradiction, refused."""
    refused = not knew or bool(DONT_KNOW.search(answer))
    if item.get("out_of_scope"):
        return {"correct": refused, "contradiction": False, "refused": refused}
    has_facts = all(normal(f) in normal(answer) for f in item["facts"])
    lead = LEAD.match(answer)
    wrong_polarity = item.get("answer") in ("yes", "no") and bool(lead) and lead.group(1).lower() != item["answer"]
    correct = has_facts and not wrong_polarity and not refused
    expected = {unit for fact in item["facts"] for _, unit in claims(fact)}
    stated = claims(answer) - set().union(*(claims(f) for f in item["facts"]))
    other_number = bool(expected) and any(unit in expected for _, unit in stated)
    return {"correct": correct, "refused": refused,
            "contradiction": not correct and not refused and (wrong_polarity or (not has_facts and other_number))}


def path_node(path: str, store):
    """The RAG node of one answer path."""
    if path == "today":
        return rag(store=store, mode="generate", prompt=TODAY, k=4, min_similarity=0.0, whole_articles=0)
    if path.endswith("-minilm"):  # as before the adapted scorer: no sibling chunks either
        return rag(store=store, mode=path.removesuffix("-minilm"), whole_articles=0)
    return rag(store=store, mode=path, scorer=help_centre_scorer())


def run_mode(mode: str, store, items: list[dict]) -> dict:
    node = path_node(mode, store)
    node.invoke("warm up: how do I reset my password?")
    rows, started = [], time.perf_counter()
    for item in items:
        t0 = time.perf_counter()
        result = node.invoke(item["question"])
        rows.append({"id": item["id"], "question": item["question"], "answer": result.answer, "path": result.mode,
                     "seconds": round(time.perf_counter() - t0, 3), **judge(item, result.answer, result.knew)})
    seconds = time.perf_counter() - started
    inside = [r for r, i in zip(rows, items) if not i.get("out_of_scope")]
    outside = [r for r, i in zip(rows, items) if i.get("out_of_scope")]
    paths: dict[str, int] = {}
    for r in rows:
        paths[r["path"]] = paths.get(r["path"], 0) + 1
    return {"fact_accuracy": round(sum(r["correct"] for r in inside) / max(1, len(inside)), 4),
            "correct": sum(r["correct"] for r in inside), "in_scope": len(inside),
            "contradictions": sum(r["contradiction"] for r in inside),
            "in_scope_refused": sum(r["refused"] for r in inside),
            "out_of_scope_refused": round(sum(r["refused"] for r in outside) / max(1, len(outside)), 4),
            "out_of_scope": len(outside), "seconds_per_question": round(seconds / len(items), 3),
            "paths": paths, "wrong": [r for r in rows if not r["correct"]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="today,generate,extractive-minilm,checked-minilm,extractive,checked")
    parser.add_argument("--set", type=Path, nargs="+", default=[EVAL_SET],
                        help="question files (the dev files in finetune/data/ are the ranker's training data)")
    parser.add_argument("--limit", type=int, default=0, help="first N questions only (a quick look)")
    parser.add_argument("--name", default="rag_facts")
    args = parser.parse_args()
    items = [json.loads(line) for path in args.set for line in path.read_text().splitlines() if line.strip()]
    items = items[:args.limit] if args.limit else items
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = vector_store("rag-facts", path=tmp)
        ingest([example_help_centre()], store=store)
        for mode in args.modes.split(","):
            results[mode] = run_mode(mode, store, items)
            print(mode, {k: v for k, v in results[mode].items() if k != "wrong"}, file=sys.stderr)
    write(args.name, {"set": [p.name for p in args.set], "questions": len(items),
                      "model": "local:gemma-3-270m (answerer role)",
                      "goal": "default path: fact_accuracy >= 0.9, 0 contradictions, out_of_scope_refused >= 0.9, "
                              "seconds no worse than today's",
                      "default": "extractive (scorer: agents/data/helpcentre-scorer)", "results": results})


if __name__ == "__main__":
    main()
