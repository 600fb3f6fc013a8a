"""plait.chains: ready-made Runnables for everyday prompt engineering.

Classification, chain-of-thought, prompt chaining, batch prompting and moderation. Each node
takes ``model=`` as a role, a reference or a LangChain chat model, and works on the packaged
local model by default.
"""

from plait.chains.batch import batch_classifier
from plait.chains.classify import Classification, classifier
from plait.chains.labels import LabelSet, label_set, match_label

__all__ = ["Classification", "LabelSet", "batch_classifier", "classifier", "label_set", "match_label"]
