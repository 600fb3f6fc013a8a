"""The JSON ReAct protocol on the local default: tool choices and parse failures over 50 runs.

Each run is one agent turn limited to one tool step, on plait's own tools (calculator, order
lookups). A correct tool choice is the expected tool (or a direct answer where no tool is
expected); a parse failure is a reply the protocol could not read (on llama.cpp the grammar
makes that impossible). The agent's model is the ``agent`` role's default, the packaged
tool-calling adapter; ``--model local:gemma-3-270m`` measures the base model.

    .venv/bin/python benchmarks/react_protocol.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402

from plait.agents import react_agent  # noqa: E402
from plait.config import Settings  # noqa: E402
from plait.models import resolve_model  # noqa: E402
from plait.tools import calculator, order_tools, shop_database  # noqa: E402

CASES = [(f"What is {a} times {b}?", "calculator") for a, b in [(17, 23), (12, 12), (9, 81), (45, 3), (7, 19)]] + \
    [(f"Can you compute {a} + {b} - 3 for me?", "calculator") for a, b in [(120, 75), (3, 4), (88, 12), (1000, 1)]] + \
    [(f"Where is my order {o}?", "lookup_order") for o in ["A1001", "A1002", "A1003", "A1005", "A1007"]] + \
    [(f"What's the status of order {o}, please?", "lookup_order") for o in ["A1004", "A1006", "A1008"]] + \
    [(f"Which orders did {e} place?", "orders_for_customer") for e in ["ada@example.com", "ben@example.com"]] + \
    [("Hello!", None)]


def run_cases(n: int = 50, model: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tools = [calculator, *order_tools(shop_database(Path(tmp) / "shop.db"))[:2]]
        llm = resolve_model(model, role="agent", settings=Settings(tracing=False))
        agent = react_agent(tools, model=llm, max_steps=1)
        failures = correct = 0
        chosen: dict[str, int] = {}
        started = time.perf_counter()
        for i in range(n):
            question, expected = CASES[i % len(CASES)]
            messages = agent.invoke({"messages": [("human", question)]})["messages"]
            ai = [m for m in messages if m.type == "ai"]
            failures += any("plait_parse_error" in m.additional_kwargs for m in ai)
            tool = ai[0].tool_calls[0]["name"] if ai[0].tool_calls else None
            chosen[str(tool)] = chosen.get(str(tool), 0) + 1
            correct += tool == expected
        seconds = time.perf_counter() - started
    return {"runs": n, "parse_failures": failures, "correct_tool_choices": correct,
            "tool_choice_accuracy": round(correct / n, 3), "choices": chosen, "seconds_per_run": round(seconds / n, 2),
            "model": llm.model_ref}


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model reference (default: the agent role's model)")
    args = parser.parse_args()
    write("react_protocol", {"goal": "tool choice >= 90%, 0 parse failures", **run_cases(model=args.model)})
