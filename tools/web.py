"""Web search through DuckDuckGo (``ddgs``), with a timeout; offline it says so instead of failing."""

from __future__ import annotations

from langchain_core.tools import BaseTool, tool

UNAVAILABLE = "search unavailable: {reason}. Answer from what you know or say that you cannot check online."


def web_search_tool(*, max_results: int = 5, timeout: int = 8, region: str = "wt-wt") -> BaseTool:
    """Build a ``web_search`` tool returning titles, links and snippets.

    Example:
        >>> search = web_search_tool(max_results=3)
        >>> search.invoke({"query": "LangGraph checkpointers"})  # doctest: +SKIP
    """

    @tool("web_search")
    def web_search(query: str) -> str:
        """Search the web and return the top results (title, link, snippet)."""
        if not query.strip():
            return "search needs a non-empty query."
        try:
            from ddgs import DDGS

            results = DDGS(timeout=timeout).text(query, region=region, max_results=max_results) or []
        except ImportError:
            return UNAVAILABLE.format(reason="the ddgs package is not installed (pip install ddgs)")
        except Exception as exc:  # ddgs raises its own types for network, rate-limit and timeout errors
            return UNAVAILABLE.format(reason=f"{type(exc).__name__}: {str(exc)[:120]}")
        if not results:
            return f"no results for {query!r}."
        return "\n".join(f"[{i}] {r.get('title', '')} — {r.get('href', '')}\n{r.get('body', '')}"
                         for i, r in enumerate(results, 1))

    return web_search
