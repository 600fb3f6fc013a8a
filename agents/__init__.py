"""plait.agents: LangGraph graphs built from plait nodes.

Example:
    >>> from plait.agents import react_agent
    >>> from plait.tools import calculator
    >>> agent = react_agent([calculator])   # local model: the tool scorer decides, the adapter writes the call
"""

from plait.agents.helpcentre import example_help_centre, help_centre_scorer, help_centre_store
from plait.agents.protocol import parse_reply, protocol_schema
from plait.agents.react import AgentState, react_agent, sqlite_checkpointer
from plait.agents.tool_choice import ToolChooser

__all__ = ["AgentState", "ToolChooser", "example_help_centre", "help_centre_scorer", "help_centre_store", "parse_reply",
           "protocol_schema", "react_agent", "sqlite_checkpointer"]
