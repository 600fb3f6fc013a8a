"""plait.chains: ready-made Runnables for everyday prompt engineering.

Classification, chain-of-thought, prompt chaining, batch prompting and moderation. Each node
takes ``model=`` as a role, a reference or a LangChain chat model, and works on the packaged
local model by default.
"""

from plait.chains.batch import batch_classifier
from plait.chains.batch_cot import batch_chain_of_thought
from plait.chains.classify import Classification, classifier
from plait.chains.cot import Thought, chain_of_thought, extract_answer
from plait.chains.moderation import Moderation, moderation_guard, moderator
from plait.chains.rag import RagAnswer, Source, rag
from plait.chains.sequence import llm_step, step
from plait.chains.sql import SqlAnswer, nl_to_sql
from plait.chains.labels import LabelSet, label_set, match_label

__all__ = ["Classification", "LabelSet", "Moderation", "RagAnswer", "Source", "SqlAnswer", "Thought", "batch_chain_of_thought", "batch_classifier", "chain_of_thought", "classifier",
           "extract_answer", "label_set", "llm_step", "match_label", "moderation_guard", "moderator", "nl_to_sql", "rag", "step"]
