"""A plan-and-execute agent built from plait nodes: plan steps -> run each with a ReAct agent -> answer.

Each step's ReAct agent runs on the ``agent`` role: offline, the packaged tool-calling adapter,
which calls the calculator or the help-centre search tool.

    .venv/bin/python examples/plan_execute_agent.py "What is 12% of 340, plus the cost of standard delivery?"
"""

from __future__ import annotations

import re
import sys
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from plait.agents import react_agent
from plait.chains import llm_step
from plait.prompts import prompt
from plait.retrieval import vector_store
from plait.tools import calculator, retriever_tool

PLAN = prompt("plan", [
    ("system", "Break the task into at most four short steps, each doable with a calculator or a help-centre "
               "search."),
    ("human", "Task: {task}"),
])
FINISH = prompt("finish", [
    ("system", "Write the final answer to the task from the results of its steps, in one or two sentences."),
    ("human", "Task: {task}\nStep results:\n{results}"),
])


class Plan(BaseModel):
    steps: list[str] = Field(min_length=1, max_length=4)


class PlanState(TypedDict, total=False):
    task: str
    plan: Plan
    done: list[tuple[str, str]]
    tool_calls: list[dict[str, Any]]
    answer: str


def build(*, planner: str | BaseChatModel | None = None, executor: str | BaseChatModel | None = None,
          writer: str | BaseChatModel | None = None, collection: str = "helpcentre", store: Any = None) -> Any:
    """Compile the plan-and-execute graph; each model is a role, a reference or a chat model."""
    plan = llm_step("plan", PLAN, model=planner, output=Plan, role="reasoner")
    finish = llm_step("answer", FINISH, model=writer, role="answerer")
    tools = [calculator, retriever_tool(store if store is not None else vector_store(collection))]
    worker = react_agent(tools, model=executor, max_steps=3)

    def execute(state: PlanState) -> dict[str, Any]:
        step = state["plan"].steps[len(state.get("done", []))]
        messages = worker.invoke({"messages": [("human", step)]})["messages"]
        calls = [{"step": step, "tool": c["name"], "args": c["args"]} for m in messages if m.type == "ai"
                 for c in m.tool_calls]
        return {"done": [*state.get("done", []), (step, str(messages[-1].content))],
                "tool_calls": [*state.get("tool_calls", []), *calls]}

    def more(state: PlanState) -> str:
        return "execute" if len(state.get("done", [])) < len(state["plan"].steps) else "finish"

    def write(state: PlanState) -> dict[str, Any]:
        results = "\n".join(f"- {step}: {result}" for step, result in state["done"])
        return {"answer": finish.invoke({"task": state["task"], "results": results})["answer"].strip()}

    graph = StateGraph(PlanState)
    def make_plan(state: PlanState) -> dict[str, Any]:
        steps = [s for s in plan.invoke({"task": state["task"]})["plan"].steps if re.search(r"[A-Za-z]{3}", s)]
        # A small planner sometimes writes bare numbers for steps: then the task itself is the one step.
        return {"plan": Plan(steps=steps or [state["task"]]), "done": []}

    graph.add_node("plan", make_plan)
    graph.add_node("execute", execute)
    graph.add_node("finish", write)
    graph.add_edge(START, "plan")
    graph.add_conditional_edges("plan", more, ["execute", "finish"])
    graph.add_conditional_edges("execute", more, ["execute", "finish"])
    graph.add_edge("finish", END)
    return graph.compile(name="plan_execute")


if __name__ == "__main__":
    task = " ".join(sys.argv[1:]) or "What is 12% of 340, and how much is standard delivery?"
    out = build().invoke({"task": task})
    for call in out.get("tool_calls", []):
        print(f"tool: {call['tool']}({call['args']})")
    for step, result in out["done"]:
        print(f"- {step}\n  -> {result}")
    print(out["answer"])
