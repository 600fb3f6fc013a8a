"""``plait ask``: one question to a model, streamed."""

from __future__ import annotations

import json
import time

import typer
from rich.console import Console

from plait.cli import app, err
from plait.models import resolve_model
from plait.prompts import ASK, ASK_STOP, as_node

out = Console(highlight=False)


@app.command()
def ask(
    text: str = typer.Argument(..., help="The question."),
    model: str = typer.Option(None, "--model", "-m", help="Role or model reference; default: the 'answerer' role."),
    max_tokens: int = typer.Option(128, help="Most tokens to generate."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of streaming text."),
) -> None:
    """Answer TEXT with a model (the packaged local model unless configured otherwise)."""
    if not text.strip():
        raise typer.BadParameter("the question is empty", param_hint="TEXT")
    llm = resolve_model(model, role="answerer", max_tokens=max_tokens)
    chain = as_node(ASK.template | llm.bind(stop=ASK_STOP), name="ask", prompt=ASK)
    started = time.perf_counter()
    final = None
    for chunk in chain.stream({"question": text}):
        final = chunk if final is None else final + chunk
        if not as_json:
            out.print(chunk.content, end="")
    seconds = time.perf_counter() - started
    usage = (final.usage_metadata if final is not None else None) or {}
    answer = (final.content if final is not None else "").strip()
    ref = llm.metadata.get("plait_model_ref") if llm.metadata else type(llm).__name__
    if as_json:
        print(json.dumps({"answer": answer, "model": ref, "prompt": ASK.id,
                          "prompt_tokens": usage.get("input_tokens"),
                          "completion_tokens": usage.get("output_tokens"), "seconds": round(seconds, 3)}))
        return
    out.print()
    err.print(f"[dim]{ref} · {usage.get('input_tokens')} prompt + {usage.get('output_tokens')} completion "
              f"tokens · {seconds:.2f}s[/]")
