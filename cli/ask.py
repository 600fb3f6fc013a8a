"""``plait ask``: one question to a model, streamed."""

from __future__ import annotations

import json
import time

import typer
from rich.markup import escape
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
    use_rag: bool = typer.Option(False, "--rag", help="Answer from the vector store, with sources."),
    agent: str = typer.Option(None, "--agent", help="Ask an agent instead (support)."),
    collection: str = typer.Option(None, help="Collection for --rag."),
    mode: str = typer.Option("extractive", help="--rag answer path: extractive (quote the evidence), checked (model "
                                                "answer under a faithfulness check) or generate (unchecked)."),
) -> None:
    """Answer TEXT with a model (the packaged local model unless configured otherwise)."""
    if not text.strip():
        raise typer.BadParameter("the question is empty", param_hint="TEXT")
    if use_rag:
        _ask_rag(text, model, collection, max_tokens, as_json, mode)
        return
    if agent:
        from plait.cli.chat import build_agent, run_turn

        final = run_turn(build_agent(agent), text, None)
        if as_json:
            print(json.dumps({k: v for k, v in final.items() if k in ("route", "topic", "answer", "sources",
                                                                   "tool_calls", "summary", "checks")}))
        return
    llm = resolve_model(model, role="answerer", max_tokens=max_tokens)
    chain = as_node(ASK.template | llm.bind(stop=ASK_STOP), name="ask", prompt=ASK)
    started = time.perf_counter()
    final = None
    for chunk in chain.stream({"question": text}):
        final = chunk if final is None else final + chunk
        if not as_json:
            out.print(chunk.content, end="", markup=False)
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


def _ask_rag(text: str, model: str | None, collection: str | None, max_tokens: int, as_json: bool,
             mode: str) -> None:
    from pathlib import Path

    from plait.agents import help_centre_scorer
    from plait.chains import rag
    from plait.chains.rag import MODES
    from plait.retrieval import vector_store

    if mode not in MODES:
        raise typer.BadParameter(f"use one of {', '.join(MODES)}", param_hint="--mode")
    started = time.perf_counter()
    store = vector_store(collection)
    # The example help centre has an evidence scorer adapted to it; other collections use MiniLM and the ranker.
    result = rag(store=store, model=model, max_tokens=max_tokens, mode=mode,
                 scorer=help_centre_scorer(store)).invoke(text)
    if as_json:
        print(json.dumps({**result.model_dump(exclude={"sources"}),
                          "sources": [s.model_dump(exclude={"text"}) for s in result.sources],
                          "seconds": round(time.perf_counter() - started, 3)}))
        return
    out.print(result.answer, markup=False)
    for source in result.sources:
        mark = "*" if source.cited else " "
        out.print(f"[dim]{mark}[{source.n}] {escape(Path(source.source).name)} · {escape(source.title)} · {source.score:.2f}[/]")
    err.print(f"[dim]{result.mode} · {result.input_tokens} prompt + {result.output_tokens} completion tokens · "
              f"{time.perf_counter() - started:.2f}s[/]")
