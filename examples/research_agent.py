"""A research agent built from plait nodes: plan queries -> search (ReAct tool calls) -> read -> summarise.

Each query goes to a ReAct agent that picks a search tool and calls it: the local help-centre
collection, and the web through `ddgs` when ``use_web`` (offline that tool answers "search
unavailable"). Every model-using node is a role; offline the
searcher is the packaged tool-calling adapter.

    .venv/bin/python examples/research_agent.py "How do I return a gift?"
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
from plait.chains.rag import citations
from plait.prompts import prompt
from plait.retrieval import vector_store
from plait.tools import retriever_tool, web_search_tool

PLAN = prompt("research_plan", [
    ("system", "Write up to three short search queries that together answer the question."),
    ("human", "Question: {question}"),
])
SUMMARISE = prompt("research_summary", [
    ("system", "Answer the question from the numbered sources only, citing them like [1]. Two or three "
               "sentences."),
    ("human", "Sources:\n{sources}\n\nQuestion: {question}"),
])


class Queries(BaseModel):
    queries: list[str] = Field(max_length=3, description="short search queries")


class ResearchState(TypedDict, total=False):
    question: str
    queries: Queries
    sources: list[dict[str, Any]]
    tool_calls: list[dict[str, Any]]
    answer: str
    cited: list[int]


PASSAGE = re.compile(r"^\[\d+\] \((?P<source>.+?) · (?P<title>.+?)\) (?P<text>.+)$", re.M)


def read_observation(tool: str, text: str) -> list[dict[str, Any]]:
    """Sources from one tool result: help-centre passages, or a web result's text."""
    if tool == "search_help_centre":
        return [{"title": m["title"], "source": m["source"], "text": m["text"]} for m in PASSAGE.finditer(text)][:2]
    if text.startswith(("search unavailable", "no results")):
        return []
    return [{"title": "web", "source": "web", "text": text[:600]}]


def build(*, planner: str | BaseChatModel | None = None, writer: str | BaseChatModel | None = None,
          searcher: str | BaseChatModel | None = None, collection: str = "helpcentre", store: Any = None,
          use_web: bool = True) -> Any:
    """Compile the research graph; ``planner``, ``searcher`` and ``writer`` are roles, references or chat models."""
    plan = llm_step("queries", PLAN, model=planner, output=Queries, role="reasoner")
    write = llm_step("answer", SUMMARISE, model=writer, role="answerer")
    tools = [retriever_tool(store if store is not None else vector_store(collection), threshold=0.3)]
    if use_web:
        tools.append(web_search_tool(max_results=3, timeout=5))
    search_agent = react_agent(tools, model=searcher, max_steps=2, name="searcher")

    def search_node(state: ResearchState) -> dict[str, Any]:
        found: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        for query in [state["question"], *state["queries"].queries][:4]:
            messages = search_agent.invoke({"messages": [("human", f"Search for: {query}")]})["messages"]
            named = {c["id"]: c["name"] for m in messages if m.type == "ai" for c in m.tool_calls}
            calls += [{"tool": c["name"], "args": c["args"]} for m in messages if m.type == "ai" for c in m.tool_calls]
            for m in messages:
                if m.type == "tool":
                    found += read_observation(named.get(m.tool_call_id, ""), str(m.content))
        unique = list({s["text"]: s for s in found}.values())[:5]  # read: de-duplicate and keep the best
        return {"sources": unique, "tool_calls": calls}

    def summarise(state: ResearchState) -> dict[str, Any]:
        if not state["sources"]:
            return {"answer": "I found nothing on that.", "cited": []}
        listing = "\n".join(f"[{i}] {s['title']}: {s['text']}" for i, s in enumerate(state["sources"], 1))
        answer = write.invoke({"sources": listing, "question": state["question"]})["answer"].strip()
        return {"answer": answer, "cited": sorted(citations(answer, len(state["sources"])))}

    graph = StateGraph(ResearchState)
    graph.add_node("plan", lambda s: {"queries": plan.invoke({"question": s["question"]})["queries"]})
    graph.add_node("search", search_node)
    graph.add_node("summarise", summarise)
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "search")
    graph.add_edge("search", "summarise")
    graph.add_edge("summarise", END)
    return graph.compile(name="research")


if __name__ == "__main__":
    question = " ".join(sys.argv[1:]) or "How long do refunds take, and can I return a sale item?"
    out = build().invoke({"question": question})
    for call in out["tool_calls"]:
        print(f"tool: {call['tool']}({call['args']})")
    print(out["answer"])
    for i, source in enumerate(out["sources"], 1):
        print(f"[{i}] {source['title']} ({source['source']})")
