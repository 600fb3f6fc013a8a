"""``plait serve``: an OpenAI-compatible API over plait's models (uvicorn)."""

from __future__ import annotations

from pathlib import Path

import typer

from plait.cli import app, err
from plait.serve.security import DEFAULT_MAX_BODY_BYTES, DEFAULT_RATE_LIMIT, KEYS_ENV, api_keys_from_env, check_bind


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind; anything but loopback needs an API key."),
    port: int = typer.Option(8000, min=0, max=65535, help="TCP port."),
    api_key: list[str] = typer.Option(None, "--api-key", help=f"Accepted API key (repeatable; also {KEYS_ENV})."),
    data_dir: Path | None = typer.Option(None, help="Where uploaded files and jobs are kept [default: .plait/serve, "
                                             "or serve/ under the home set in plait.toml]."),
    max_body_bytes: int = typer.Option(DEFAULT_MAX_BODY_BYTES, min=1, help="Largest request body (413 above)."),
    rate_limit: int = typer.Option(DEFAULT_RATE_LIMIT, min=0, help="Requests per minute per client (0: no limit)."),
) -> None:
    """Serve plait's models to any OpenAI client, plus fine-tuning jobs and the support assistant.

    /v1/models, /v1/chat/completions, /v1/embeddings, /v1/files, /v1/fine_tuning/jobs,
    /v1/assistants/support/chat, and a chat page at /.
    """
    import uvicorn

    from plait.serve import create_app

    if any(not key.strip() for key in api_key or ()):
        raise typer.BadParameter("an API key can't be empty; give the key clients will send", param_hint="--api-key")
    if data_dir is not None and str(data_dir) in ("", "."):  # an empty value arrives as "."
        raise typer.BadParameter("give a folder of its own for uploaded files and jobs, e.g. .plait/serve",
                                 param_hint="--data-dir")
    keys = (*(api_key or ()), *api_keys_from_env())
    check_bind(host, api_keys=keys)  # refuses before anything listens
    server = create_app(api_keys=keys, data_dir=data_dir, max_body_bytes=max_body_bytes,
                        rate_limit_per_minute=rate_limit)
    auth = f"{len(keys)} API key(s)" if keys else "no API key (local only)"
    err.print(f"[dim]plait serve: API http://{host}:{port}/v1 · chat page http://{host}:{port}/ · {auth} · "
              "any plait reference or role as model[/]")
    uvicorn.run(server, host=host, port=port, log_level="info")
