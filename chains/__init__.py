"""plait.chains: ready-made Runnables (classification, chain-of-thought, prompt chaining, batch
prompting, moderation, RAG). Each takes ``model=`` as a role, a reference or a chat model."""
