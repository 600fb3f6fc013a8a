"""plait.tools: typed, documented tools for agents.

Example:
    >>> from plait.tools import calculator
    >>> calculator.invoke({"expression": "2 ** 10"})
    '1024'
"""

from plait.tools.calculator import calculate, calculator
from plait.tools.retriever import retriever_tool
from plait.tools.shop import is_sensitive, order_tools, shop_database
from plait.tools.sql import run_select, sql_tool
from plait.tools.web import web_search_tool

__all__ = ["calculate", "calculator", "is_sensitive", "order_tools", "retriever_tool", "run_select",
           "shop_database", "sql_tool", "web_search_tool"]
