"""A retriever tool over a plait collection: passages with their sources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool, tool

from plait.retrieval import search


def retriever_tool(store: Any, *, name: str = "search_help_centre", k: int = 4,
                   threshold: float | None = 0.35) -> BaseTool:
    """Build a tool that searches ``store`` and returns numbered passages with their sources.

    Example:
        >>> help_search = retriever_tool(vector_store("helpcentre"))  # doctest: +SKIP
    """

    @tool(name)
    def search_collection(query: str) -> str:
        """Search the help centre for passages that answer the query."""
        hits = search(query, store=store, k=k, threshold=threshold)
        if not hits:
            return "No relevant passages found."
        return "\n".join(f"[{i}] ({Path(h.source).name} · {h.title}) {h.text.split(chr(10), 1)[-1]}"
                         for i, h in enumerate(hits, 1))

    return search_collection
