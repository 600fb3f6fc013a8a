"""``plait serve``: an OpenAI-compatible HTTP API over plait's models (FastAPI + uvicorn).

Any OpenAI client works against it; ``model`` is a plait reference or role.

Example:
    >>> import uvicorn
    >>> from plait.serve import create_app
    >>> app = create_app(api_keys=["secret"])
    >>> # uvicorn.run(app, host="127.0.0.1", port=8000)
    >>> # OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="secret").models.list()
"""

from plait.serve.app import create_app
from plait.serve.security import DEFAULT_MAX_BODY_BYTES, DEFAULT_RATE_LIMIT, api_keys_from_env, check_bind

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_RATE_LIMIT", "api_keys_from_env", "check_bind", "create_app"]
