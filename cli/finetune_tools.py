"""``plait finetune tools``: train the tool-calling adapter, optionally on your own tools' cases."""

from __future__ import annotations

from pathlib import Path

import typer

from plait.cli.finetune import finetune_app, out


@finetune_app.command("tools")
def tools(
    cases: Path = typer.Option(None, exists=True, dir_okay=False,
                               help="Your own cases (JSONL: tools, request, calls, answer; see plait.agents.tool_data)."),
    name: str = typer.Option("tool-calls", help="Adapter name (stored in .plait/adapters/NAME)."),
    n: int = typer.Option(2000, help="Synthetic cases to mix in (the packaged adapter's recipe)."),
    seed: int = typer.Option(0, help="Seed of the synthetic cases."),
    epochs: int = typer.Option(1, help="Passes over the examples."),
    fresh: bool = typer.Option(False, help="Start over instead of resuming an interrupted run."),
    scorer: Path = typer.Option(None, file_okay=False,
                                help="Also train a tool scorer (which tool next, or none) on the same cases into this "
                                     "folder; use it with react_agent(tools, tool_scorer=FOLDER). ~28 min."),
    adapter: bool = typer.Option(True, help="Train the adapter (--no-adapter with --scorer: the scorer only)."),
) -> None:
    """Train a tool-calling LoRA for the local model (resumable; ~30 min on 2 CPU cores with the defaults).

    With --name tool-calls the adapter in .plait/adapters takes the place of the packaged one for
    every react_agent on the local default; with another name, bind the agent role to lora:NAME in plait.toml.
    """
    from dataclasses import replace

    from plait.agents.tool_training import read_cases, train_tool_adapter
    from plait.finetune.lora import TrainOptions

    extra = read_cases(cases) if cases else []
    if not adapter and scorer is None:
        raise typer.BadParameter("--no-adapter leaves nothing to train: add --scorer FOLDER.")
    if adapter:
        options = replace(TrainOptions(), epochs=epochs, checkpoint_every=20)
        info = train_tool_adapter(name, n=n, seed=seed, extra_cases=extra, options=options, resume=not fresh)
        out.print(f"lora:{info.name} trained on {n} synthetic + {len(extra)} own cases in "
                  f"{info.metrics['train_seconds'] / 60:.1f} min (validation loss {info.metrics['val_loss']:.3f}).")
    if scorer is not None:
        from plait.agents.tool_choice import ToolScorerOptions, train_tool_scorer

        made = train_tool_scorer(scorer, options=replace(ToolScorerOptions(), cases=n, seed=seed), extra_cases=extra)
        right = made["decisions_right_on_held_out_domains"]
        out.print(f"Tool scorer in {scorer} ({made['minutes']} min): right decisions on domains it never saw "
                  f"{right['first_step']:.1%} (first step), {right['after_a_result']:.1%} (after a result). "
                  f"Use it with react_agent(tools, tool_scorer=\"{scorer}\").")
