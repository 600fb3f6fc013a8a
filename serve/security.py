"""What stands between the network and the models: API keys, a body size limit and a rate limit.

One ASGI middleware does all three, in this order: rate limit (429, so nobody can guess keys
at speed), API key on every ``/v1`` path (401), body size (413, checked on the declared
length and again on the bytes actually received, so a chunked upload cannot slip past).
Refusals use OpenAI's error shape, which the official clients turn into typed exceptions.

Example:
    >>> check_bind("127.0.0.1", api_keys=())   # loopback: fine without keys
    >>> check_bind("0.0.0.0", api_keys=["k"])   # reachable from the network: keys required
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plait.errors import PlaitError

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
"""Room for fine-tuning files; chat requests are far smaller."""
DEFAULT_RATE_LIMIT = 120
"""Requests per minute per client; a 270M model on 2 cores answers a few per second at most."""
KEYS_ENV = "PLAIT_SERVE_API_KEYS"
PUBLIC_PATHS = frozenset({"/", "/favicon.ico"})
"""The chat page; every other path (the API, FastAPI's docs) needs a key when the server has keys."""
_BAD_KEY = ("Missing or invalid API key: send the header 'Authorization: Bearer KEY' with a key the server "
            "was started with.")
_MAX_CLIENTS = 10_000
"""Forget idle clients beyond this many, so spoofed addresses cannot grow memory without bound."""


def openai_error(message: str, *, type: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None) -> dict[str, Any]:
    """Return an error body in OpenAI's shape.

    Example:
        >>> openai_error("Unknown model", code="model_not_found")["error"]["code"]
        'model_not_found'
    """
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def api_keys_from_env(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Read API keys from ``PLAIT_SERVE_API_KEYS`` (comma-separated).

    Example:
        >>> api_keys_from_env({"PLAIT_SERVE_API_KEYS": "k1, k2"})
        ('k1', 'k2')
    """
    env = os.environ if env is None else env
    return tuple(k.strip() for k in env.get(KEYS_ENV, "").split(",") if k.strip())


def is_loopback(host: str) -> bool:
    """Return True when ``host`` only accepts connections from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name could resolve anywhere


def check_bind(host: str, *, api_keys: Sequence[str]) -> None:
    """Refuse to listen beyond this machine without API keys (raise PlaitError saying how to fix it)."""
    if api_keys or is_loopback(host):
        return
    raise PlaitError(f"Refusing to serve on {host} without an API key: anyone who can reach it could use "
                     f"your models. Pass --api-key KEY (repeatable) or set {KEYS_ENV}=KEY1,KEY2; "
                     "or bind --host 127.0.0.1 to stay local.")


def bearer_key(headers: Mapping[str, str]) -> str | None:
    """Return the key of an ``Authorization: Bearer KEY`` header, or None."""
    scheme, _, key = headers.get("authorization", "").partition(" ")
    return (key.strip() or None) if scheme.lower() == "bearer" else None


def key_is_valid(key: str | None, api_keys: Sequence[str]) -> bool:
    """True when no keys are configured, or ``key`` is one of them (compared in constant time)."""
    if not api_keys:
        return True  # local use: plait's openai-compatible references send a placeholder key
    # Every key is compared, so the time taken does not tell which one nearly matched.
    return key is not None and any([hmac.compare_digest(key.encode(), k.encode()) for k in api_keys])


def require_api_key(request: Request) -> None:
    """FastAPI dependency for routes outside ``/v1`` that want the same key check.

    Example:
        >>> router = APIRouter(dependencies=[Depends(require_api_key)])  # doctest: +SKIP
    """
    if not key_is_valid(bearer_key(request.headers), request.app.state.api_keys):
        raise HTTPException(401, detail={"message": _BAD_KEY, "code": "invalid_api_key"},
                            headers={"www-authenticate": "Bearer"})


@dataclass
class RateLimiter:
    """A token bucket per client: ``per_minute`` requests, refilled evenly; 0 turns it off."""

    per_minute: int
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Client -> (tokens left, time of last update)."""

    def retry_after(self, client: str, now: float | None = None) -> int:
        """Take one request from ``client``'s bucket; return 0 if allowed, else seconds to wait."""
        if self.per_minute <= 0:
            return 0
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        tokens, last = self.buckets.get(client, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - last) * rate)
        if tokens < 1.0:
            self.buckets[client] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / rate))
        if len(self.buckets) >= _MAX_CLIENTS and client not in self.buckets:
            self._forget_full(now, rate)
        self.buckets[client] = (tokens - 1.0, now)
        return 0

    def _forget_full(self, now: float, rate: float) -> None:
        # A client whose bucket has refilled is indistinguishable from a new one.
        self.buckets = {c: (t, last) for c, (t, last) in self.buckets.items()
                        if t + (now - last) * rate < self.per_minute}


_NOT_LOCAL = ("This server has no API key, so it answers only requests addressed to this machine (Host and "
              "Origin headers naming localhost or a loopback address); start it with --api-key KEY to serve others.")


def _route_path(scope: Scope) -> str:
    """The path routes see: without the ``root_path`` a proxy prefix or a mount adds."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] or "/" if root and path.startswith(root) else path


def _addressed_locally(headers: Mapping[str, str]) -> bool:
    """False for a request a web page could have sent elsewhere's way: DNS rebinding or a cross-site form.

    A keyless server trusts its callers; that only holds when the browser addressed it as
    this machine and the page that sent the request came from this machine too.
    """
    from urllib.parse import urlsplit

    for name in ("host", "origin"):
        value = headers.get(name)
        if not value or value == "null":
            continue
        host = urlsplit(value if "://" in value else f"//{value}").hostname or ""
        if not is_loopback(host):
            return False
    return True


class _BodyTooLarge(HTTPException):
    """Raised from ``receive``; an HTTPException so FastAPI's body parsing passes it on unchanged."""


class SecurityMiddleware:
    """ASGI middleware: rate limit, API key on ``/v1`` paths, and a request body size limit."""

    def __init__(self, app: ASGIApp, *, api_keys: Sequence[str], max_body_bytes: int, limiter: RateLimiter) -> None:
        self.app, self.api_keys, self.max_body_bytes, self.limiter = app, tuple(api_keys), max_body_bytes, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await _send_json(send, *refusal)
            return
        await self._guarded(scope, receive, send)

    def _refusal(self, scope: Scope, headers: Mapping[str, str]) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.limiter.retry_after(client)
        if wait:
            message = (f"Rate limit of {self.limiter.per_minute} requests per minute reached; retry in {wait} s "
                       "(the server's --rate-limit option sets the limit).")
            return 429, openai_error(message, type="rate_limit_error", code="rate_limit_exceeded"), \
                {"retry-after": str(wait)}
        if _route_path(scope) not in PUBLIC_PATHS and not key_is_valid(bearer_key(headers), self.api_keys):
            return 401, openai_error(_BAD_KEY, code="invalid_api_key"), {"www-authenticate": "Bearer"}
        if not self.api_keys and not _addressed_locally(headers):
            return 403, openai_error(_NOT_LOCAL, type="permission_error", code="non_local_request"), {}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            return 413, openai_error(self._too_large_message(), code="request_too_large"), {}
        return None

    def _too_large_message(self) -> str:
        return (f"Request body is larger than the server's limit of {self.max_body_bytes} bytes; send less, "
                "or start the server with a larger --max-body-bytes.")

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        received, started = 0, False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise _BodyTooLarge(413, detail={"message": self._too_large_message(), "code": "request_too_large"})
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            # Routes that read the body through FastAPI get a 413 from the app's handler; this
            # catches readers that let the exception escape.
            if not started:
                await _send_json(send, 413, openai_error(self._too_large_message(), code="request_too_large"), {})


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: Mapping[str, str]) -> None:
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
