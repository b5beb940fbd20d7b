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

Each request's id is also bound with :class:`~finprivacy.access.in_request`, so every
audit entry made while serving it carries it in ``AuditEvent.request_id``.

Responses are shaped with :func:`shaped` (a decorator for endpoints) or
:func:`respond` (a call inside one): the result is checked and masked for a purpose,
exactly as :func:`~finprivacy.requires` does, then turned into JSON by a walk that
never calls a model's serialisers. An ``fp.Encrypted`` field therefore reaches the
client masked, or raw where the principal's permission allows it, and never as a
token; any string that still has the shape of a finprivacy token becomes ``"****"``.
Returning such a model from a plain endpoint instead would make FastAPI dump it in
JSON mode, which encrypts the field (a token on the wire) or fails without a
keyring.

Requires the ``fastapi`` extra (``pip install 'finprivacy[fastapi]'``); only
Starlette is imported.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, ParamSpec, TypeVar

from .access import (
    AccessControl,
    Principal,
    SubjectSpec,
    acting_as,
    current_request_id,
    get_access_control,
    in_request,
    jsonable,
    requires,
)
from .access import Scope as AccessScope
from .errors import AccessDeniedError, ConfigurationError

try:
    from starlette.requests import Request
    from starlette.responses import JSONResponse
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError("finprivacy.fastapi needs Starlette: pip install 'finprivacy[fastapi]'"
                      ) from None

__all__ = ["PrincipalResolver", "install", "jsonable", "problem_response", "request_id",
           "respond", "shaped"]

P = ParamSpec("P")
R = TypeVar("R")

PrincipalResolver = Callable[[Request], "Principal | Awaitable[Principal | None] | None"]
"""``principal(request)``: the acting principal of a request, or ``None``."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_PROBLEM = "application/problem+json"


def request_id() -> str:
    """Return the id of the request being served (empty outside one)."""
    return current_request_id()


def problem_response(status: int, title: str, detail: str, **extra: str) -> JSONResponse:
    """Return an RFC 9457 problem response; ``detail`` must not hold personal data."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            **extra}
    rid = current_request_id()
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
        header = self.header
        given = ""
        for name, value in scope.get("headers", ()):
            if name == header:
                given = value.decode("latin-1")
                break
        rid = given if given and _REQUEST_ID.fullmatch(given) else os.urandom(16).hex()
        ours = (header, rid.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*(h for h in message.get("headers", ())
                                        if h[0] != header), ours]
            await send(message)

        with in_request(rid):  # entered and left in this coroutine
            try:
                found = self.resolve(Request(scope))
                if found is not None and type(found) is not Principal:
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
            with acting_as(found):
                await self.app(scope, receive, send_with_id)


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


# -- responses ---------------------------------------------------------------------------

def respond(value: Any, purpose: str, subject: str | None = None, *,
            scope: AccessScope | None = None, action: str = "read", field: str = "",
            status_code: int = 200, control: AccessControl | None = None) -> JSONResponse:
    """Check, shape and record access to ``value``, and answer it as JSON.

    The same decision as :meth:`AccessControl.protect` (an access refused raises
    :class:`~finprivacy.errors.AccessDeniedError`, a 403 under :func:`install`),
    then :func:`jsonable`. ``control`` defaults to the one from
    :func:`~finprivacy.access.configure_access`.
    """
    ac = control if control is not None else get_access_control()
    shaped_value = ac.protect(value, purpose, subject, scope=scope, action=action, field=field)
    return JSONResponse(jsonable(shaped_value), status_code=status_code)


def shaped(purpose: str, *, subject: SubjectSpec = None, scope: AccessScope | None = None,
           action: str | None = None, returns: str = "", status_code: int = 200,
           control: AccessControl | None = None
           ) -> Callable[[Callable[P, Any]], Callable[P, Any]]:
    """Guard an endpoint with :func:`~finprivacy.requires` and answer its result as JSON.

    Put it under the route decorator::

        @app.get("/clients/{client_id}")
        @shaped("account_verification", subject="client_id")
        def get_client(client_id: str) -> Client: ...

    The arguments are those of :func:`~finprivacy.requires`; the endpoint keeps its
    signature (FastAPI still sees its parameters and dependencies), ``def`` stays
    ``def`` and ``async def`` stays ``async def``. The response is a
    :class:`~starlette.responses.JSONResponse` of :func:`jsonable` of the shaped
    result, so FastAPI's own serialisation (which would encrypt ``fp.Encrypted``
    fields into tokens) never runs on it.
    """
    guard = requires(purpose, subject=subject, scope=scope, action=action, returns=returns,
                     control=control)

    def decorate(fn: Callable[P, Any]) -> Callable[P, Any]:
        guarded = guard(fn)
        if inspect.iscoroutinefunction(fn):
            async def async_endpoint(*args: P.args, **kwargs: P.kwargs) -> JSONResponse:
                result = await guarded(*args, **kwargs)
                return JSONResponse(jsonable(result), status_code=status_code)

            return functools.wraps(fn)(async_endpoint)

        def endpoint(*args: P.args, **kwargs: P.kwargs) -> JSONResponse:
            return JSONResponse(jsonable(guarded(*args, **kwargs)), status_code=status_code)

        return functools.wraps(fn)(endpoint)

    return decorate
