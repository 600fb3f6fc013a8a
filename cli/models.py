"""``plait models``: which model each role resolves to."""

from __future__ import annotations

import os

from rich.console import Console
from rich.table import Table

from plait.cli import app
from plait.config import DEFAULT_MODEL, config_path, load_settings
from plait.errors import PlaitError
from plait.models.refs import BUILTIN_ROLES, parse_ref, reference_for


def _target(ref_text: str) -> str:
    """Describe what a reference points at, without loading it."""
    try:
        ref = parse_ref(ref_text)
    except PlaitError as exc:
        return f"[red]{exc}[/]"
    if ref.scheme == "local":
        return "packaged GGUF on llama.cpp"
    if ref.scheme == "gguf":
        return ref.name if os.path.isfile(ref.name) else f"[red]missing file {ref.name}[/]"
    if ref.scheme == "openai":
        return "OpenAI API" if os.environ.get("OPENAI_API_KEY") else "[yellow]OpenAI API (set OPENAI_API_KEY)[/]"
    if ref.scheme == "openai-compatible":
        return f"server at {ref.base_url}"
    return "adapter on its base model"


@app.command()
def models() -> None:
    """Show every role, the reference it is bound to, and where that binding comes from."""
    settings = load_settings()
    from_file = load_settings(env={"PLAIT_CONFIG": str(config_path())}).models if settings.source else {}
    table = Table(title=f"plait models ({settings.source or 'no plait.toml: defaults'})")
    for column in ("role", "reference", "from", "resolves to"):
        table.add_column(column)
    for role in sorted(set(settings.models) | BUILTIN_ROLES):
        ref = reference_for(role, settings=settings)
        if role in from_file:
            source = "plait.toml"
        elif role in settings.models:
            source = "environment"
        else:
            source = "default" if ref == DEFAULT_MODEL else "default role"
        table.add_row(role, ref, source, _target(ref))
    Console().print(table)
