"""Every default prompt of plait.chains, named and versioned. Override any of them by argument."""

from __future__ import annotations

from plait.prompts import prompt

CLASSIFY = prompt("classify", [
    ("system", "Classify the text into exactly one of these labels:\n{labels}\nAnswer with the label only."),
    ("placeholder", "{examples}"),
    ("human", "Text: {text}"),
])
"""One-per-prompt classification. ``examples`` are Text/label turns, built from ``CLASSIFY_EXAMPLE``."""
CLASSIFY_EXAMPLE = "Text: {text}"
"""How an example's text is shown; matches the final human turn of ``CLASSIFY``."""
CLASSIFY_RETRY = "{answer!r} is not one of the labels. Answer with exactly one of: {labels}"
"""Correction sent when a model without constrained decoding answers with an unknown label."""

BATCH_CLASSIFY = prompt("batch_classify", [
    ("system", "Classify each numbered text into exactly one of these labels:\n{labels}\n"
               "Answer with one line per text: its number, a dot, then the label."),
    ("placeholder", "{examples}"),
    ("human", "{texts}"),
])
"""Batch prompting (Cheng et al. 2023): several texts in one prompt, answered in indexed slots."""
BATCH_SLOT = "{index}. {value}"
"""One indexed slot, in the texts, in the answers and in the examples."""
