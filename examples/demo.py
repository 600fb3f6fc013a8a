"""plait demo: the packaged local model, offline, on a few real prompts.

Run with `make demo`. Every call is traced to .plait/traces.db; see them with `plait traces list`.
"""

from __future__ import annotations

import time
from typing import Literal

from rich.console import Console
from rich.table import Table

from plait import as_node, prompt, resolve_model
from plait.prompts import ASK, ASK_STOP

Intent = Literal["shipping", "refund", "account", "other"]

# Few-shot prompt, visible and versioned: traces record it as classify_intent@<hash>.
CLASSIFY = prompt("classify_intent", [
    ("system", "Classify each customer message into one intent: shipping, refund, account or other."),
    ("human", "Message: Do you have gift cards?"),
    ("ai", "other"),
    ("human", "Message: Where is my parcel? It was due on Monday."),
    ("ai", "shipping"),
    ("human", "Message: The kettle arrived broken, I'd like my money back."),
    ("ai", "refund"),
    ("human", "Message: I can't log in, the reset link has expired."),
    ("ai", "account"),
    ("human", "Message: My delivery is late, when will it ship?"),
    ("ai", "shipping"),
    ("human", "Message: Please refund my order, I was charged twice."),
    ("ai", "refund"),
    ("human", "Message: How do I update the email on my account?"),
    ("ai", "account"),
    ("human", "Message: {text}"),
])

MESSAGES = [
    "My order still hasn't shipped after ten days.",
    "Please refund the jacket, it doesn't fit.",
    "How do I change the password on my account?",
]
QUESTIONS = ["What is the largest planet in the solar system?", "Why is the sky blue?"]


def main() -> None:
    console = Console()
    started = time.perf_counter()
    classifier = resolve_model(role="classifier")
    answerer = resolve_model(role="answerer", max_tokens=48)
    classify = as_node(CLASSIFY.template | classifier.with_structured_output(Intent, include_raw=True),
                       name="classify", prompt=CLASSIFY)
    ask = as_node(ASK.template | answerer.bind(stop=ASK_STOP), name="ask", prompt=ASK)

    table = Table(title=f"plait demo on {classifier.metadata['plait_model_ref']} (offline)", show_lines=True)
    for column in ("node", "input", "output", "tokens in/out", "seconds"):
        table.add_column(column, overflow="fold")
    for text in MESSAGES:
        t0 = time.perf_counter()
        result = classify.invoke({"text": text})
        usage = result["raw"].usage_metadata
        table.add_row("classify", text, str(result["parsed"]), f"{usage['input_tokens']}/{usage['output_tokens']}",
                      f"{time.perf_counter() - t0:.2f}")
    for question in QUESTIONS:
        t0 = time.perf_counter()
        message = ask.invoke({"question": question})
        usage = message.usage_metadata
        table.add_row("ask", question, message.content.strip(), f"{usage['input_tokens']}/{usage['output_tokens']}",
                      f"{time.perf_counter() - t0:.2f}")
    console.print(table)
    console.print(f"[dim]{time.perf_counter() - started:.1f}s in all, model load included. "
                  "Traces: `.venv/bin/plait traces list`.[/]")


if __name__ == "__main__":
    main()
