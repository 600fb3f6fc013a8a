"""LoRA training throughput: plait's trainer vs a plain PEFT loop on the same BANKING77 batches.

Both train the packaged Gemma 3 270M (fp32, CPU) with the same LoRA config, batch size,
examples and batch order. The plain loop is the textbook one: ``model(..., labels=...)``,
which computes logits over the 262k-token vocabulary at every position; plait computes them
only where an answer token is predicted. Prints the ratio (goal: >= 0.9x) and writes
``benchmarks/results/lora_train.json``.

``--accuracy`` instead trains a real classifier (20 examples per intent, r=16 on all linear
layers) and scores the 300 held-out rows through llama.cpp with the GGUF adapter and
constrained label decoding; writes ``benchmarks/results/lora_banking77.json``.

Run: ``.venv/bin/python benchmarks/lora_train.py [--steps 6] [--batch-size 16] [--accuracy]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402
from banking77 import carve  # noqa: E402

from plait.config import Settings  # noqa: E402
from plait.finetune.base import collate, load_base  # noqa: E402
from plait.finetune.lora import TrainOptions, encode_examples, plan_batches, train  # noqa: E402

SYSTEM = "Classify the banking message into one of the intents."


def examples(n: int) -> list[dict]:
    """BANKING77 training-pool rows as chat examples (labels live in the weights, not the prompt)."""
    _, pool, _ = carve(300, per_label_pool=20)
    return [{"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"Text: {text}"},
                          {"role": "assistant", "content": label}]} for text, label in pool[:n]]


def plain_peft(data: list[dict], options: TrainOptions) -> dict:
    """The standard PEFT loop: full-logits causal LM loss with HF labels (-100 on the prompt)."""
    from peft import LoraConfig, TaskType, get_peft_model

    base, tokenizer = load_base(fresh=True)
    torch.manual_seed(options.seed)
    model = get_peft_model(base, LoraConfig(task_type=TaskType.CAUSAL_LM, r=options.rank, lora_alpha=options.alpha,
                                            lora_dropout=options.dropout,
                                            target_modules=list(options.target_modules)))
    encoded = encode_examples(data, tokenizer, max_tokens=options.max_tokens)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=options.learning_rate)
    batches = plan_batches([len(e.ids) for e in encoded], options.batch_size, seed=options.seed, epoch=0)
    model.train()
    seconds, tokens, losses = 0.0, 0, []
    for indices in batches:
        batch = collate([encoded[i] for i in indices], tokenizer.pad_token_id or 0)
        started = time.perf_counter()
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seconds += time.perf_counter() - started
        tokens += int(batch["attention_mask"].sum())
        losses.append(loss.item())
    return {"seconds": round(seconds, 2), "tokens": tokens, "tokens_per_second": round(tokens / seconds, 2),
            "first_loss": losses[0], "steps": len(batches)}


def plait_trainer(data: list[dict], options: TrainOptions) -> dict:
    """plait's trainer (completion-only logits), one epoch over the same examples."""
    with tempfile.TemporaryDirectory() as home:
        info = train("bench", data, options=options, progress=False, settings=Settings(home=Path(home), tracing=False))
    m = info.metrics
    return {"seconds": m["train_seconds"], "tokens": m["train_tokens"], "tokens_per_second": m["tokens_per_second"],
            "first_loss": m["first_loss"], "steps": m["steps"]}


def accuracy(*, epochs: int, learning_rate: float, per_label: int) -> None:
    """Train on ``per_label`` pool rows per intent, then classify the held-out rows with llama.cpp."""
    from plait.models import resolve_model

    eval_rows, pool, labels = carve(300, per_label_pool=per_label)
    data = [{"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"Text: {t}"},
                          {"role": "assistant", "content": label}]} for t, label in pool]
    options = TrainOptions(epochs=epochs, learning_rate=learning_rate)
    settings = Settings(home=Path(tempfile.mkdtemp(prefix="plait-b77-")), tracing=False)
    info = train("b77", data, options=options, settings=settings, task={"kind": "classification", "labels": labels})
    llm = resolve_model("lora:b77", settings=settings)
    started, correct = time.perf_counter(), 0
    for text, label in eval_rows:
        answer = llm.invoke([("system", SYSTEM), ("human", f"Text: {text}")], choices=labels).content
        correct += answer == label
    result = {"train_examples": len(data), "options": asdict(options), "metrics": info.metrics,
              "seconds_per_epoch": round(info.metrics["train_seconds"] / info.metrics["epochs_run"], 1),
              "eval_rows": len(eval_rows), "accuracy": round(correct / len(eval_rows), 4),
              "eval_seconds": round(time.perf_counter() - started, 1), "adapter": str(settings.home)}
    write("lora_banking77", result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--accuracy", action="store_true", help="train and score a BANKING77 classifier")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--per-label", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    if args.accuracy:
        return accuracy(epochs=args.epochs, learning_rate=args.learning_rate, per_label=args.per_label)
    options = TrainOptions(epochs=1, batch_size=args.batch_size, learning_rate=2e-4, checkpoint_every=10**9)
    data = examples(args.steps * args.batch_size)
    load_base()  # convert/cache the base before timing anything
    plain = plain_peft(data, options)
    ours = plait_trainer(data, options)
    ratio = ours["tokens_per_second"] / plain["tokens_per_second"]
    print(f"plait {ours['tokens_per_second']} tok/s vs plain PEFT {plain['tokens_per_second']} tok/s: {ratio:.2f}x")
    write("lora_train", {"examples": len(data), "options": asdict(options), "plait": ours, "plain_peft": plain,
                         "ratio": round(ratio, 3), "goal": ">= 0.9"})


if __name__ == "__main__":
    main()
