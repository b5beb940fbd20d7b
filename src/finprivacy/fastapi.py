"""FastAPI and Starlette: the acting principal per request, and errors as problem+json.

``install(app, principal=...)`` adds one ASGI middleware. For each HTTP request it
calls ``principal(request)`` (plain or ``async``), binds the result for the whole
request with :class:`~finprivacy.access.acting_as`, entered and left in the same
coroutine, and runs the application inside. ``async def`` and plain ``def``
endpoints and dependencies all see it: Starlette runs plain functions in a worker
thread with a copy of the request's context. Concurrent requests never see each
other's principal (each request runs in its own context). With no principal
(``None``) nothing is bound and :func:`~finprivacy.requires` fails closed as
everywhere.

Do not wrap :class:`~finprivacy.access.acting_as` in a FastAPI dependency with
``yield``: FastAPI enters and leaves a plain (``def``) dependency in two different
worker-thread calls, and the binding cannot be undone from another context. The
middleware is the supported way.

Errors become RFC 9457 ``application/problem+json`` responses that never carry
personal data: :class:`~finprivacy.errors.AccessDeniedError` is 403 with its reason
code, :class:`~finprivacy.errors.ConfigurationError` 500 with a fixed text. Each
request has an id, taken from the ``X-Request-ID`` header when it is a plausible id
(1 to 64 letters, digits, ``-``, ``_`` or ``.``) or made up, and set on the response;
:func:`request_id` returns it inside the request.

Requires the ``fastapi`` extra (``pip install 'finprivacy[fastapi]'``); only
Starlette is imported.
"""

from __future__ import annotations

import contextvars
import inspect
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .access import Principal, acting_as
from .errors import AccessDeniedError, ConfigurationError

try:
    from starlette.requests import Request
    from starlette.responses import JSONResponse
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError("finprivacy.fastapi needs Starlette: pip install 'finprivacy[fastapi]'"
                      ) from None

__all__ = ["PrincipalResolver", "install", "problem_response", "request_id"]

PrincipalResolver = Callable[[Request], "Principal | Awaitable[Principal | None] | None"]
"""``principal(request)``: the acting principal of a request, or ``None``."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "finprivacy_request_id", default="")
_PROBLEM = "application/problem+json"


def request_id() -> str:
    """Return the id of the request being served (empty outside one)."""
    return _request_id.get()


def problem_response(status: int, title: str, detail: str, **extra: str) -> JSONResponse:
    """Return an RFC 9457 problem response; ``detail`` must not hold personal data."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            **extra}
    rid = _request_id.get()
    if rid:
        body["request_id"] = rid
    return JSONResponse(body, status_code=status, media_type=_PROBLEM)


async def _denied(request: Request, exc: Exception) -> JSONResponse:
    reason = getattr(exc, "reason", "") or "denied"
    # The message may name a subject or a field: only the reason code goes out.
    return problem_response(403, "Forbidden", f"access denied ({reason})", reason=reason)


async def _misconfigured(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(500, "Internal Server Error",
                            "the server's privacy configuration is incomplete")


class _BindPrincipal:
    """ASGI middleware: one request id and one principal binding per HTTP request."""

    def __init__(self, app: ASGIApp, resolve: PrincipalResolver, header: str) -> None:
        self.app = app
        self.resolve = resolve
        self.header = header.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for name, value in scope.get("headers", ()):
            if name == self.header:
                given = value.decode("latin-1")
                break
        rid = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        header = self.header

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k != header]
                message["headers"] = [*headers, (header, rid.encode("latin-1"))]
            await send(message)

        rid_token = _request_id.set(rid)
        try:
            try:
                found = self.resolve(Request(scope))
                if inspect.isawaitable(found):
                    found = await found
                if found is not None and not isinstance(found, Principal):
                    raise ConfigurationError(
                        "the principal resolver must return a Principal or None, not "
                        f"{type(found).__name__}")
            except AccessDeniedError as exc:  # the resolver refused the credentials
                await (await _denied(Request(scope), exc))(scope, receive, send_with_id)
                return
            except ConfigurationError as exc:
                await (await _misconfigured(Request(scope), exc))(scope, receive,
                                                                   send_with_id)
                return
            if found is None:
                await self.app(scope, receive, send_with_id)
                return
            with acting_as(found):  # entered and left in this coroutine
                await self.app(scope, receive, send_with_id)
        finally:
            _request_id.reset(rid_token)


def install(app: Any, *, principal: PrincipalResolver,
            request_id_header: str = "X-Request-ID") -> None:
    """Bind each request's principal and request id, and answer errors as problem+json.

    ``app`` is a FastAPI or Starlette application; ``principal(request)`` returns the
    :class:`~finprivacy.access.Principal` acting for the request (from the session,
    a verified token …) or ``None``. Call it once, before the application starts.
    """
    if not callable(principal):
        raise ConfigurationError("install(principal=...) needs a callable(request)")
    if not hasattr(app, "add_middleware") or not hasattr(app, "add_exception_handler"):
        raise ConfigurationError("install() needs a FastAPI or Starlette application")
    app.add_middleware(_BindPrincipal, resolve=principal, header=request_id_header)
    app.add_exception_handler(AccessDeniedError, _denied)
    app.add_exception_handler(ConfigurationError, _misconfigured)
