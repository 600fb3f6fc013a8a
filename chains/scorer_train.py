"""Train an evidence scorer (:mod:`plait.chains.scorer`) on questions about your documents.

Each question line names the fact strings a right answer contains (JSONL, the format of
``finetune/data/helpcentre_*.jsonl``)::

    {"question": "express uk price?", "article": "shipping-costs.md", "facts": ["£6.95"], "out_of_scope": false}
    {"question": "do you sell cars", "article": null, "facts": [], "out_of_scope": true}

For every question the candidates are the units of the chunks RAG would look at (the ``k``
retrieved ones plus the whole of the best articles); a unit holding every fact is a positive.
MiniLM gets a LoRA adapter (rank 8 on every linear layer, ~1 MB) trained with a contrastive
loss: the positive must beat the question's other candidates, the other questions' units and a
fixed "none of these" score (``margin``); an out-of-scope question must lose to that score.
The "don't know" threshold is measured out of fold: the data files are split in two groups,
a scorer trained on each group scores the other (over every unit of the collection, as it will
search them in use), and the threshold refuses ``refuse`` of the out-of-scope questions it never
saw. Training is resumable (a checkpoint after each epoch); hard negatives are mined with the
scorer being trained at each epoch's start (``mine``).

    python -m plait.chains.scorer_train --docs DOCS --data q1.jsonl q2.jsonl --out my_scorer
    python -m plait.chains.scorer_train ... --out my_scorer --keep-folds   # keeps the calibration scorers
    python -m plait.chains.scorer_train ... --out my_scorer --recalibrate  # re-measures the threshold with them
    make helpcentre-scorer     # rebuilds the example help centre's packaged scorer

Example:
    >>> train_scorer(items, store=store, out="my_scorer")  # doctest: +SKIP
    ScorerReport(min_similarity=0.47, ...)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from plait.chains.evidence import Evidence, candidates, normalise_question, unit_text
from plait.chains.rag import DEFAULT_THRESHOLD, WHOLE_ARTICLES
from plait.chains.scorer import INDEX_CHUNKS, MANIFEST
from plait.records import stream_records
from plait.retrieval import article_chunks, ingest, search, stored_chunks, vector_store
from plait.retrieval.embeddings import PACKAGED_MODEL, packaged_model_path


@dataclass(frozen=True)
class ScorerOptions:
    """How a scorer is trained."""

    epochs: int = 3
    """Passes over the questions (3: validation top-1 still rose at the third on the help centre)."""
    rank: int = 8
    """LoRA rank on every linear layer of MiniLM."""
    learning_rate: float = 5e-4
    batch_size: int = 16
    hard_negatives: int = 3
    """Other candidates of the same question in each batch: the near misses the scorer must learn."""
    mine: int = 8
    """Hard negatives come from the ``mine`` wrong candidates the scorer itself ranks highest (re-scored at
    the start of each epoch); 0 draws them from all candidates. On the help centre, judged on writers the
    scorer never saw: fact accuracy 88.2% -> 90.7%, in-scope refusals 44 -> 31 of 828, same out-of-scope refusals."""
    margin: float = 0.5
    """Similarity a positive must beat and an out-of-scope question must stay under."""
    temperature: float = 0.05
    k: int = 6
    """Chunks retrieved per question, as :func:`plait.chains.rag.rag` does."""
    refuse: float = 0.95
    """Share of out-of-scope questions the threshold refuses (out of fold)."""
    seed: int = 0


@dataclass
class ScorerReport:
    """What training measured; also written to the scorer's ``scorer.json``."""

    min_similarity: float
    questions: int
    answerable: int
    out_of_scope: int
    out_of_fold: dict[str, float] = field(default_factory=dict)
    minutes: float = 0.0


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("–", "-").replace("—", "-").replace("’", "'")).lower()


def examples_for(items: list[dict], *, store: Any, k: int = 6) -> list[dict]:
    """Per question: its normalised text, candidate unit texts, which hold every fact, out of scope or not."""
    out = []
    for item in items:
        query = normalise_question(str(item["question"]))
        hits = search(query, store=store, k=k, threshold=DEFAULT_THRESHOLD)
        found = candidates(hits + article_chunks(hits, store=store, articles=WHOLE_ARTICLES))
        oos = bool(item.get("out_of_scope"))
        facts = [_normal(f) for f in item.get("facts") or []]
        labels = [not oos and bool(facts) and all(f in _normal(Evidence(u, 0.0, 0.0, h).quote()) for f in facts)
                  for u, h in found]
        out.append({"question": query, "units": [unit_text(u, h) for u, h in found], "labels": labels,
                    "out_of_scope": oos, "group": item.get("_group", 0)})
    return out


def _fresh_model(rank: int) -> Any:
    from peft import LoraConfig, get_peft_model
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(packaged_model_path()), device="cpu", local_files_only=True)
    config = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.1,
                        target_modules=["query", "key", "value", "dense"])
    model[0].model = get_peft_model(model[0].model, config)  # ``auto_model`` is a read-only view of ``model``
    return model


def _embed(model: Any, texts: list[str]) -> Any:
    import torch

    out = model(dict(model.tokenize(texts)))["sentence_embedding"]
    return torch.nn.functional.normalize(out, dim=-1)


def _batch_loss(model: Any, batch: list[dict], options: ScorerOptions, rng: random.Random) -> Any:
    import torch

    questions, units, targets = [], [], []
    for ex in batch:
        questions.append(ex["question"])
        hardest = ex.get("hardest") if options.mine else None  # set by _mine at each epoch's start
        negatives = hardest or [u for u, good in zip(ex["units"], ex["labels"]) if not good]
        if ex["out_of_scope"]:
            targets.append(-1)
        else:
            targets.append(len(units))
            units.append(rng.choice([u for u, good in zip(ex["units"], ex["labels"]) if good]))
        units += rng.sample(negatives, min(options.hard_negatives, len(negatives)))
    logits = _embed(model, questions) @ _embed(model, units).T / options.temperature
    none = torch.full((len(questions), 1), options.margin / options.temperature)
    target = torch.tensor([t if t >= 0 else len(units) for t in targets])
    return torch.nn.functional.cross_entropy(torch.cat([logits, none], 1), target)


def fit(examples: list[dict], options: ScorerOptions, *, checkpoint: Path | None = None, label: str = "") -> Any:
    """Train a LoRA-adapted MiniLM on ``examples``; resumes from ``checkpoint`` (a folder) when it holds one."""
    import torch
    from tqdm.auto import tqdm

    usable = [ex for ex in examples if ex["units"] and (ex["out_of_scope"] or any(ex["labels"]))]
    if len(usable) < options.batch_size:
        raise ValueError(f"Only {len(usable)} usable questions (need {options.batch_size}+): check that the facts "
                         "are copied verbatim from the documents and that the documents were ingested.")
    torch.manual_seed(options.seed)
    model = _fresh_model(options.rank)
    lora = model[0].model
    optimizer = torch.optim.AdamW([p for p in lora.parameters() if p.requires_grad], lr=options.learning_rate)
    per_epoch = len(usable) // options.batch_size
    total = options.epochs * per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 10) * max(0.0, 1 - s / total))
    start = 0
    state = checkpoint / "state.pt" if checkpoint else None
    if state and state.is_file():
        saved = torch.load(state, weights_only=False)
        lora.load_state_dict(saved["model"], strict=False)
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        start = saved["epoch"]
    with tqdm(total=total, initial=start * per_epoch, desc=f"scorer {label}".strip(), unit="step") as bar:
        for epoch in range(start, options.epochs):
            rng = random.Random(options.seed * 1000 + epoch)
            if options.mine:
                _mine(model, usable, options.mine)
            order = usable[:]
            rng.shuffle(order)
            model.train()
            for i in range(per_epoch):
                loss = _batch_loss(model, order[i * options.batch_size:(i + 1) * options.batch_size], options, rng)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                bar.update()
                bar.set_postfix(loss=f"{loss.item():.3f}")
            if state:  # an interrupted run continues from the last finished epoch
                state.parent.mkdir(parents=True, exist_ok=True)
                torch.save({"model": {k: v for k, v in lora.state_dict().items() if "lora_" in k},
                            "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                            "epoch": epoch + 1}, state)
    model.eval()
    return model


def _vectors(model: Any, texts: list[str], batch: int = 256) -> Any:
    """Embeddings of ``texts`` in eval mode, in batches (units repeat across questions: embed each once)."""
    import torch

    model.eval()
    with torch.no_grad():
        return torch.cat([_embed(model, texts[i:i + batch]) for i in range(0, len(texts), batch)])


def _mine(model: Any, examples: list[dict], keep: int) -> None:
    """Store in each example its ``keep`` wrong candidates the model now ranks highest (``hardest``)."""
    texts = list(dict.fromkeys(u for ex in examples for u in ex["units"]))
    vectors, questions = _vectors(model, texts), _vectors(model, [ex["question"] for ex in examples])
    row = {text: i for i, text in enumerate(texts)}
    for ex, question in zip(examples, questions):
        wrong = [u for u, good in zip(ex["units"], ex["labels"]) if not good]
        if wrong:
            scores = (vectors[[row[u] for u in wrong]] @ question).tolist()
            ex["hardest"] = [u for _, u in sorted(zip(scores, wrong), key=lambda pair: -pair[0])[:keep]]
    model.train()


def best_similarities(model: Any, examples: list[dict], *, pool: list[str] | None = None
                      ) -> list[tuple[float, bool, bool]]:
    """Per question: the best unit's similarity, out of scope or not, and whether the best unit holds the facts.

    ``pool`` (every unit of the collection) is searched too, as :class:`~plait.chains.scorer.UnitIndex`
    does at answer time: a threshold measured on the retrieved candidates alone refuses fewer
    out-of-scope questions in use than it promised.
    """
    texts = list(dict.fromkeys([u for ex in examples for u in ex["units"]] + (pool or [])))
    vectors, questions = _vectors(model, texts), _vectors(model, [ex["question"] for ex in examples])
    row = {text: i for i, text in enumerate(texts)}
    everywhere = vectors[[row[u] for u in pool]] if pool else None
    out = []
    for ex, question in zip(examples, questions):
        anywhere = float((everywhere @ question).max()) if everywhere is not None else 0.0
        if not ex["units"]:
            out.append((anywhere, ex["out_of_scope"], False))
            continue
        scores = (vectors[[row[u] for u in ex["units"]]] @ question).numpy()
        best = int(np.argmax(scores))
        right = bool(ex["labels"][best]) and float(scores[best]) >= anywhere - 1e-6
        out.append((max(float(scores[best]), anywhere), ex["out_of_scope"], right))
    return out


def collection_units(store: Any) -> list[str]:
    """Every unit of ``store`` as the scorer embeds it (empty past the size the unit index searches)."""
    chunks = stored_chunks(store)
    return [unit_text(u, h) for u, h in candidates(chunks)] if len(chunks) <= INDEX_CHUNKS else []


def calibrate(scored: list[tuple[float, bool, bool]], refuse: float) -> tuple[float, dict[str, float]]:
    """The threshold refusing ``refuse`` of the out-of-scope questions, and what it does to the others."""
    outside = sorted(s for s, oos, _ in scored if oos)
    inside = [(s, right) for s, oos, right in scored if not oos]
    if not outside or not inside:
        raise ValueError("Calibration needs in-scope and out-of-scope questions; add some with \"out_of_scope\": true.")
    threshold = round(outside[min(len(outside) - 1, int(refuse * len(outside)))] + 1e-4, 4)
    return threshold, {"out_of_scope_refused": round(float(np.mean([s < threshold for s in outside])), 4),
                       "in_scope_answered": round(float(np.mean([s >= threshold for s, _ in inside])), 4),
                       "top1": round(float(np.mean([right for _, right in inside])), 4)}


def _data_hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def save_scorer(model: Any, folder: Path, fields: dict[str, Any]) -> None:
    """Write ``model``'s adapter (unless None) to ``folder`` and merge ``fields`` into its ``scorer.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    if model is not None:
        model[0].model.save_pretrained(str(folder))
        config = folder / "adapter_config.json"  # PEFT writes the base's local path; the scorer names it instead
        config.write_text(json.dumps({**json.loads(config.read_text()), "base_model_name_or_path": PACKAGED_MODEL},
                                     indent=2) + "\n")
        (folder / "README.md").unlink(missing_ok=True)  # PEFT's model-card stub
    manifest = folder / MANIFEST
    old = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {"name": folder.name}
    manifest.write_text(json.dumps({**old, **fields}, indent=2) + "\n", encoding="utf-8")


def train_scorer(items: list[dict], *, store: Any, out: str | Path, options: ScorerOptions = ScorerOptions(),
                 threshold: float | None = None, info: dict[str, Any] | None = None,
                 keep_folds: bool = False) -> ScorerReport:
    """Train a scorer on ``items`` (question dicts; ``_group`` 0/1 splits them for calibration) into ``out``.

    Without ``threshold``, two extra scorers (one per group) measure it out of fold first; with
    ``keep_folds`` they are kept beside ``out`` (``OUT-without-group0``/``1``) to measure RAG with.
    """
    started = time.perf_counter()
    out = Path(out)
    examples = examples_for(items, store=store, k=options.k)
    report = ScorerReport(0.0, len(items), sum(any(ex["labels"]) for ex in examples),
                          sum(ex["out_of_scope"] for ex in examples))
    if threshold is None:
        scored, pool = [], collection_units(store)
        for group in (0, 1):
            held = [ex for ex in examples if ex["group"] == group]
            model = fit([ex for ex in examples if ex["group"] != group], options,
                        checkpoint=out / f".fold{group}", label=f"fold {group + 1}/2")
            scored += best_similarities(model, held, pool=pool)
            if keep_folds:  # a scorer that never saw group ``group``: for measuring the whole RAG path on it
                save_scorer(model, out.parent / f"{out.name}-without-group{group}", {"held_out_group": group})
        threshold, report.out_of_fold = calibrate(scored, options.refuse)
        if keep_folds:
            for group in (0, 1):
                save_scorer(None, out.parent / f"{out.name}-without-group{group}", {"min_similarity": threshold})
    report.min_similarity = threshold
    model = fit(examples, options, checkpoint=out / ".final", label="final")
    save_scorer(model, out, {})
    report.minutes = round((time.perf_counter() - started) / 60, 1)
    manifest = {"name": out.name, "base": PACKAGED_MODEL, "min_similarity": threshold, **asdict(report),
                "options": asdict(options), **(info or {})}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for name in (".fold0", ".fold1", ".final"):  # done: a later run on other data must not resume from these
        shutil.rmtree(out / name, ignore_errors=True)
    return report


def load_fold(folder: Path) -> Any:
    """A scorer saved by :func:`save_scorer` (MiniLM with its adapter), ready to embed."""
    from peft import PeftModel
    from sentence_transformers import SentenceTransformer

    if not (folder / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{folder} holds no calibration scorer: train with --keep-folds first.")
    model = SentenceTransformer(str(packaged_model_path()), device="cpu", local_files_only=True)
    model[0].model = PeftModel.from_pretrained(model[0].model, str(folder))
    model.eval()
    return model


def recalibrate(items: list[dict], *, store: Any, out: str | Path, refuse: float = ScorerOptions.refuse) -> float:
    """Measure ``out``'s threshold again with the calibration scorers kept beside it (``--keep-folds``), no training.

    For a new ``refuse`` share, or after a change to how the threshold is measured; writes it to both.
    """
    out = Path(out)
    examples = examples_for(items, store=store)
    scored, pool = [], collection_units(store)
    for group in (0, 1):
        model = load_fold(out.parent / f"{out.name}-without-group{group}")
        scored += best_similarities(model, [ex for ex in examples if ex["group"] == group], pool=pool)
    threshold, measured = calibrate(scored, refuse)
    for folder in (out, *(out.parent / f"{out.name}-without-group{group}" for group in (0, 1))):
        save_scorer(None, folder, {"min_similarity": threshold})
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    manifest["out_of_fold"] = measured
    manifest["options"] = {**manifest.get("options", {}), "refuse": refuse}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return threshold


def read_questions(paths: list[Path]) -> list[dict]:
    """Question lines from ``paths``; files alternate between the two calibration groups (writers apart)."""
    items = []
    for i, path in enumerate(paths):
        for _, row in stream_records(path, format="jsonl"):
            if "question" not in row:
                raise ValueError(f"{path}: a line without \"question\": {str(row)[:80]}")
            items.append({**row, "_group": i % 2 if len(paths) > 1 else len(items) % 2})
    return items


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, required=True, help="the documents folder RAG answers from")
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="question files (JSONL)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the scorer to")
    parser.add_argument("--epochs", type=int, default=ScorerOptions.epochs)
    parser.add_argument("--threshold", type=float, default=None, help="skip calibration, use this threshold")
    parser.add_argument("--keep-folds", action="store_true", help="keep the two calibration scorers beside --out")
    parser.add_argument("--recalibrate", action="store_true",
                        help="only measure the threshold again, with the scorers --keep-folds kept")
    args = parser.parse_args(argv)
    items = read_questions(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        store = vector_store("scorer-train", path=tmp)
        ingest([args.docs], store=store)
        if args.recalibrate:
            print(json.dumps({"min_similarity": recalibrate(items, store=store, out=args.out)}), file=sys.stderr)
            return
        report = train_scorer(items, store=store, out=args.out, options=ScorerOptions(epochs=args.epochs),
                              threshold=args.threshold, keep_folds=args.keep_folds,
                              info={"data": [p.name for p in args.data], "data_hash": _data_hash(args.data),
                                    "rebuild": "make helpcentre-scorer"})
    print(json.dumps(asdict(report)), file=sys.stderr)


if __name__ == "__main__":
    main()
