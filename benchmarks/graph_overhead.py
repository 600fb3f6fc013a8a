"""A 20-node graph of plait nodes vs the same graph in raw LangGraph, both on scripted models.

The plait graph's nodes are ``as_node(prompt | model | parser)``, with tracing to SQLite on
(plait's default) and off. The raw graph runs the same LCEL chains in plain LangGraph; a
second raw graph calls the model directly, without LCEL, for reference. Goal: plait / raw
wall time <= 1.10.

    .venv/bin/python benchmarks/graph_overhead.py [--runs 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402

from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from typing_extensions import TypedDict  # noqa: E402

from plait.prompts import as_node, prompt  # noqa: E402
from plait.testing import ScriptedChatModel  # noqa: E402
from plait.tracing import SQLiteTracer  # noqa: E402

NODES = 20
STEP = prompt("step", [("system", "You refine text."), ("human", "Refine: {text}")])


class State(TypedDict):
    text: str


def chain_graph(make_node) -> object:
    graph = StateGraph(State)
    names = [f"n{i}" for i in range(NODES)]
    for name in names:
        graph.add_node(name, make_node(name))
    graph.add_edge(START, names[0])
    for a, b in zip(names, names[1:]):
        graph.add_edge(a, b)
    graph.add_edge(names[-1], END)
    return graph.compile()


def plait_graph(tracer: SQLiteTracer) -> object:
    def make(name: str):
        llm = ScriptedChatModel(replies=["refined text"], cycle=True, callbacks=[tracer])
        node = as_node(STEP.template | llm | StrOutputParser(), name=name, prompt=STEP)
        return lambda state: {"text": node.invoke({"text": state["text"]})}
    return chain_graph(make)


def plait_untraced_graph() -> object:
    def make(name: str):
        llm = ScriptedChatModel(replies=["refined text"], cycle=True)
        node = as_node(STEP.template | llm | StrOutputParser(), name=name, prompt=STEP)
        return lambda state: {"text": node.invoke({"text": state["text"]})}
    return chain_graph(make)


def raw_graph() -> object:
    def make(name: str):
        chain = STEP.template | ScriptedChatModel(replies=["refined text"], cycle=True) | StrOutputParser()
        return lambda state: {"text": chain.invoke({"text": state["text"]})}
    return chain_graph(make)


def direct_graph() -> object:
    def make(name: str):
        llm = ScriptedChatModel(replies=["refined text"], cycle=True)
        return lambda state: {"text": llm.invoke(STEP.template.format_messages(text=state["text"])).content}
    return chain_graph(make)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        graphs = {"plait": plait_graph(SQLiteTracer(Path(tmp) / "t.db")), "plait_untraced": plait_untraced_graph(),
                  "raw": raw_graph(), "direct": direct_graph()}
        for g in graphs.values():
            g.invoke({"text": "warm up"})
        times: dict[str, list[float]] = {name: [] for name in graphs}
        for _ in range(args.runs):  # interleaved so machine noise hits both alike
            for name, g in graphs.items():
                started = time.perf_counter()
                g.invoke({"text": "draft"})
                times[name].append(time.perf_counter() - started)
    ms = {name: statistics.median(t) * 1000 for name, t in times.items()}
    write("graph_overhead", {
        "nodes": NODES, "runs": args.runs, "ms_per_run": {k: round(v, 2) for k, v in ms.items()},
        "ratio_plait_over_raw": round(ms["plait"] / ms["raw"], 3),
        "ratio_plait_untraced_over_raw": round(ms["plait_untraced"] / ms["raw"], 3),
        "ratio_raw_over_direct": round(ms["raw"] / ms["direct"], 3),
        "goal": "ratio_plait_over_raw <= 1.10", "meets_goal": ms["plait"] / ms["raw"] <= 1.10})


if __name__ == "__main__":
    main()
