"""A research agent built from plait nodes: plan queries -> search -> read -> summarise with citations.

Searches the web through `ddgs` when the network is there, and otherwise (the default, offline)
the local help-centre collection, so it runs anywhere. Every model-using node is a role.

    .venv/bin/python examples/research_agent.py "How do I return a gift?"
"""

from __future__ import annotations

import sys
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from plait.chains import llm_step
from plait.chains.rag import citations
from plait.prompts import prompt
from plait.retrieval import search, vector_store
from plait.tools import web_search_tool

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
    answer: str
    cited: list[int]


def build(*, planner: str | BaseChatModel | None = None, writer: str | BaseChatModel | None = None,
          collection: str = "helpcentre", store: Any = None, use_web: bool = True) -> Any:
    """Compile the research graph; ``planner`` and ``writer`` are roles, references or chat models."""
    plan = llm_step("queries", PLAN, model=planner, output=Queries, role="reasoner")
    write = llm_step("answer", SUMMARISE, model=writer, role="answerer")
    web = web_search_tool(max_results=3, timeout=5) if use_web else None
    local = store if store is not None else vector_store(collection)

    def search_node(state: ResearchState) -> dict[str, Any]:
        found: list[dict[str, Any]] = []
        for query in [state["question"], *state["queries"].queries][:4]:
            result = web.invoke({"query": query}) if web else "search unavailable"
            if not result.startswith(("search unavailable", "no results")):
                found.append({"title": query, "source": "web", "text": result[:600]})
                continue
            found += [{"title": h.title, "source": h.source, "text": h.text.split("\n", 1)[-1]}
                      for h in search(query, store=local, k=2, threshold=0.3)]
        unique = list({s["text"]: s for s in found}.values())[:5]  # read: de-duplicate and keep the best
        return {"sources": unique}

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
    print(out["answer"])
    for i, source in enumerate(out["sources"], 1):
        print(f"[{i}] {source['title']} ({source['source']})")
