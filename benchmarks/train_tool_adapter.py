"""Rebuild the packaged tool-calling adapter (``agents/data/adapters/tool-calls``) and time it.

Trains a LoRA on synthetic tool cases (:mod:`plait.agents.tool_data`; no evaluation data) in a
build store (``.plait/build``), resumable: run it again after an interruption and it continues.
Then writes the adapter's GGUF as float16 next to its ``adapter.json`` in the package, and the
training figures to ``benchmarks/results/train_tool_adapter.json``.

    .venv/bin/python benchmarks/train_tool_adapter.py            # ~30 min on 2 CPU cores
    .venv/bin/python benchmarks/train_tool_adapter.py --n 200    # a quick trial
    # a second round: continue the first on fresh cases (another seed)
    .venv/bin/python benchmarks/train_tool_adapter.py --name tool-calls-2 --base-adapter tool-calls --seed 1 --n 1200 --lr 5e-4
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402

from plait.agents.plugin import TOOL_ADAPTER  # noqa: E402
from plait.agents.tool_training import ADAPTER, train_tool_adapter  # noqa: E402
from plait.config import Settings  # noqa: E402
from plait.finetune.gguf_lora import export_gguf_lora  # noqa: E402
from plait.finetune.lora import TrainOptions  # noqa: E402
from plait.models.packaged import gemma_270m_path  # noqa: E402

BUILD_HOME = Path(".plait") / "build"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="synthetic training cases")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    parser.add_argument("--name", default=ADAPTER, help="adapter name in the build store")
    parser.add_argument("--base-adapter", help="continue training this adapter of the build store (a later round)")
    parser.add_argument("--out", type=Path, default=TOOL_ADAPTER, help="folder for adapter.json + adapter.gguf")
    args = parser.parse_args()
    settings = Settings(home=BUILD_HOME, tracing=False)
    options = replace(TrainOptions(), epochs=args.epochs, rank=args.rank, alpha=2 * args.rank, checkpoint_every=20,
                      learning_rate=args.lr)
    info = train_tool_adapter(args.name, n=args.n, seed=args.seed, options=options, settings=settings,
                              base_adapter=args.base_adapter)
    built = BUILD_HOME / "adapters" / args.name
    args.out.mkdir(parents=True, exist_ok=True)
    export_gguf_lora(built / "peft", args.out / "adapter.gguf", base_gguf=gemma_270m_path(), half=True)
    meta = json.loads((built / "adapter.json").read_text(encoding="utf-8"))
    earlier = json.loads((args.out / "adapter.json").read_text(encoding="utf-8")).get("recipe", {}) \
        if args.base_adapter and (args.out / "adapter.json").is_file() else {}
    rounds = [*(earlier.get("rounds") or ([{k: earlier[k] for k in ("n", "seed") if k in earlier}] if earlier else [])),
              {"n": args.n, "seed": args.seed, "lr": args.lr, "epochs": args.epochs,
               "minutes": round(info.metrics["train_seconds"] / 60, 1)}]
    meta.update(name=ADAPTER, gguf="adapter.gguf",
                recipe={"script": "benchmarks/train_tool_adapter.py", "data": "plait.agents.tool_data.synthetic_cases",
                        "rounds": rounds})
    (args.out / "adapter.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    write("train_tool_adapter", {"cases": args.n, "metrics": info.metrics, "options": info.hyperparameters,
                                 "gguf_bytes": (args.out / "adapter.gguf").stat().st_size,
                                 "train_minutes": round(info.metrics["train_seconds"] / 60, 1)})


if __name__ == "__main__":
    main()
