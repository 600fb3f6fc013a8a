"""The FastAPI application behind ``plait serve``: an OpenAI-compatible API over plait's models.

Everything a route needs lives on ``app.state`` (settings, keys, data folder, the queue for
local models), so several apps with different options can run in one process, and other
features add their routes through ``extra_routers`` without touching this module. Errors of
every route, including those in ``extra_routers``, come out in OpenAI's error shape: raise
``HTTPException(status, detail="message")`` or ``detail={"message": ..., "param": ..., "code": ...}``.

Example:
    >>> from plait.serve import create_app
    >>> app = create_app(api_keys=["secret"])
    >>> # uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openai
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from plait.config import Settings, load_settings
from plait.errors import MissingAPIKeyError, ModelRefError, OutputParseError, PlaitError
from plait.serve.assistant import router as assistant_router
from plait.serve.files import router as files_router
from plait.serve.inference import router as inference_router
from plait.serve.jobs import router as jobs_router
from plait.serve.security import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_RATE_LIMIT,
    RateLimiter,
    SecurityMiddleware,
    openai_error,
)

_ERROR_TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error",
                429: "rate_limit_error"}


def create_app(*, settings: Settings | None = None, api_keys: Sequence[str] = (), data_dir: str | Path | None = None,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, rate_limit_per_minute: int = DEFAULT_RATE_LIMIT,
               extra_routers: Sequence[APIRouter] = ()) -> FastAPI:
    """Build the OpenAI-compatible app: ``/v1/models``, ``/v1/chat/completions``, ``/v1/embeddings``.

    With ``api_keys``, every ``/v1`` path needs ``Authorization: Bearer KEY``; without, any
    key (or none) is accepted, which suits a server bound to 127.0.0.1. ``data_dir`` is where
    routes that store files keep them (default ``<home>/serve``). ``rate_limit_per_minute=0``
    turns rate limiting off.

    Example:
        >>> app = create_app(rate_limit_per_minute=60, max_body_bytes=1_000_000)
        >>> app.state.rate_limiter.per_minute
        60
    """
    if max_body_bytes <= 0:
        raise PlaitError(f"max_body_bytes must be a positive number of bytes, got {max_body_bytes}.")
    settings = settings or load_settings()
    app = FastAPI(title="plait", summary="OpenAI-compatible API over plait's models.")
    app.state.settings = settings
    app.state.api_keys = tuple(api_keys)
    app.state.data_dir = Path(data_dir) if data_dir is not None else settings.home / "serve"
    app.state.rate_limiter = RateLimiter(rate_limit_per_minute)
    app.state.max_body_bytes = max_body_bytes
    app.add_middleware(SecurityMiddleware, api_keys=app.state.api_keys, max_body_bytes=max_body_bytes,
                       limiter=app.state.rate_limiter)
    _add_error_handlers(app)
    for router in (inference_router, assistant_router, files_router, jobs_router, *extra_routers):
        app.include_router(router)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)  # FastAPI's subclasses it
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PlaitError, _plait_error)
    app.add_exception_handler(openai.APIStatusError, _upstream_error)
    app.add_exception_handler(Exception, _server_error)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail: Any = exc.detail
    fields = dict(detail) if isinstance(detail, dict) else {"message": str(detail)}
    body = openai_error(str(fields.pop("message", "")), type=fields.pop("type", None) or _error_type(exc.status_code),
                        param=fields.pop("param", None), code=fields.pop("code", None))
    return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    if first.get("type") == "json_invalid":  # its location is a character offset, not a field
        message = f"The request body is not valid JSON ({first.get('ctx', {}).get('error', first['msg'])})."
        return JSONResponse(openai_error(message), status_code=400)
    loc = [str(part) for part in first.get("loc", ()) if part != "body"]
    param = ".".join(loc) or None
    message = f"{param}: {first['msg']}" if param else str(first["msg"])
    more = len(exc.errors()) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return JSONResponse(openai_error(f"Invalid request: {message}.", param=param), status_code=400)


async def _plait_error(request: Request, exc: Exception) -> JSONResponse:
    # plait's messages already say how to fix the problem; only the status is chosen here.
    if isinstance(exc, MissingAPIKeyError):
        status, code = 400, "missing_api_key"
    elif isinstance(exc, ModelRefError):
        status, code = 404, "model_not_found"
    elif isinstance(exc, OutputParseError):
        status, code = 422, "output_parse_error"
    else:
        status, code = 400, None
    message, param = str(exc), None
    if isinstance(exc, ModelRefError):
        param = "model"
        message += "" if isinstance(exc, MissingAPIKeyError) else " GET /v1/models lists what this server offers."
    return JSONResponse(openai_error(message, type=_error_type(status), param=param, code=code), status_code=status)


async def _upstream_error(request: Request, exc: Exception) -> JSONResponse:
    # An openai: or openai-compatible: model refused the call: pass its status on, so a client
    # sees BadRequestError (not a 500 it would retry, paying upstream again).
    assert isinstance(exc, openai.APIStatusError)
    status = exc.status_code if 400 <= exc.status_code < 600 else 502
    message = f"The upstream model server answered {exc.status_code}: {exc.message}"
    return JSONResponse(openai_error(message, type=_error_type(status), code=getattr(exc, "code", None)),
                        status_code=status)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    message = f"Internal server error ({type(exc).__name__}: {exc}). The server log has the traceback."
    return JSONResponse(openai_error(message, type="server_error"), status_code=500)


def _error_type(status: int) -> str:
    if status in _ERROR_TYPES:
        return _ERROR_TYPES[status]
    return "server_error" if status >= 500 else "invalid_request_error"
