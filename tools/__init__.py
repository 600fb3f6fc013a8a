"""plait.tools: typed, documented tools for agents (calculator, search, SQL, retrieval)."""
