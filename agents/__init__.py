"""plait.agents: LangGraph graphs built from plait nodes (ReAct, the support assistant)."""
