"""plait's local backend vs raw llama-cpp-python generating the same tokens in one process.

Reports the tokens/s ratio (goal >= 0.95) and the tracing overhead per call, both on the real
model and on a scripted model (where the overhead is all there is to measure).

    make bench            # or: .venv/bin/python benchmarks/local_llm.py --tokens 128 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import median_seconds, write  # noqa: E402

from plait.config import Settings  # noqa: E402
from plait.models import resolve_model  # noqa: E402
from plait.testing import ScriptedChatModel  # noqa: E402
from plait.tracing import SQLiteTracer  # noqa: E402

QUESTION = "Write a short story about a lighthouse keeper who finds a message in a bottle."


def generation(tokens: int, repeats: int, trace_db: Path) -> dict:
    plain = resolve_model(settings=Settings(tracing=False), max_tokens=tokens)
    traced = resolve_model(settings=Settings(trace_db=trace_db), max_tokens=tokens)
    loaded = plain.loaded()  # the very Llama object plait uses: same weights, same process
    rendered = plain.render(plait_messages := plain._convert_input(QUESTION).to_messages())

    def raw_call() -> dict:
        return loaded.llama.create_completion(rendered.prompt, max_tokens=tokens, temperature=0.0, top_p=0.95,
                                              repeat_penalty=1.0, seed=0, stop=list(rendered.stop))

    raw_call()  # warm-up: first call pays for buffer allocation
    raw_s, plait_s, traced_s = [], [], []
    for _ in range(repeats):  # interleaved, so drift on a shared machine hits all three alike
        raw_t, raw_out = median_seconds(raw_call, repeats=1)
        plait_t, plait_out = median_seconds(lambda: plain.invoke(plait_messages), repeats=1)
        traced_t, _ = median_seconds(lambda: traced.invoke(plait_messages), repeats=1)
        raw_s.append(raw_t), plait_s.append(plait_t), traced_s.append(traced_t)
    n_raw = raw_out["usage"]["completion_tokens"]
    n_plait = plait_out.usage_metadata["output_tokens"]
    same = raw_out["choices"][0]["text"] == plait_out.content
    raw_tps = n_raw / statistics.median(raw_s)
    plait_tps = n_plait / statistics.median(plait_s)
    return {
        "tokens_generated": n_plait, "same_output": same, "repeats": repeats,
        "raw_tokens_per_s": round(raw_tps, 2), "plait_tokens_per_s": round(plait_tps, 2),
        "ratio_plait_over_raw": round(plait_tps / raw_tps, 4),
        "tracing_overhead_ms_real_model": round((statistics.median(traced_s) - statistics.median(plait_s)) * 1000, 2),
    }


def tracing_overhead(calls: int, trace_db: Path) -> dict:
    plain = ScriptedChatModel(replies=["ok"], cycle=True)
    traced = ScriptedChatModel(replies=["ok"], cycle=True, callbacks=[SQLiteTracer(trace_db)])
    for model in (plain, traced):
        model.invoke("warm up")
    plain_t, _ = median_seconds(lambda: [plain.invoke("hello there") for _ in range(calls)], repeats=3)
    traced_t, _ = median_seconds(lambda: [traced.invoke("hello there") for _ in range(calls)], repeats=3)
    return {"scripted_calls": calls, "untraced_ms_per_call": round(plain_t / calls * 1000, 3),
            "traced_ms_per_call": round(traced_t / calls * 1000, 3),
            "tracing_overhead_ms_per_call": round((traced_t - plain_t) / calls * 1000, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = generation(args.tokens, args.repeats, Path(tmp) / "gen.db")
        result.update(tracing_overhead(args.calls, Path(tmp) / "scripted.db"))
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["goal"] = "ratio_plait_over_raw >= 0.95"
    result["meets_goal"] = result["ratio_plait_over_raw"] >= 0.95
    write("local_llm", result)


if __name__ == "__main__":
    main()
