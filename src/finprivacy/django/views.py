"""Answer a view's result shaped by purpose, as JSON: :func:`respond` and :func:`shaped`.

The Django counterparts of :func:`finprivacy.fastapi.respond` and
:func:`~finprivacy.fastapi.shaped`: the result is checked and masked for the purpose
as :func:`~finprivacy.requires` does, and answered as a ``JsonResponse`` of
:func:`~finprivacy.access.jsonable` — encrypted values masked or raw by permission,
never a token. A refusal raises :class:`~finprivacy.errors.AccessDeniedError`, which
:class:`~finprivacy.django.middleware.FinPrivacyMiddleware` answers with a 403.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import JsonResponse

from ..access import AccessControl, SubjectSpec, get_access_control, jsonable, requires
from ..access import Scope as AccessScope

__all__ = ["respond", "shaped"]


def respond(value: Any, purpose: str, subject: str | None = None, *,
            scope: AccessScope | None = None, action: str = "read", field: str = "",
            status: int = 200, control: AccessControl | None = None) -> JsonResponse:
    """Check, shape and record access to ``value``, and answer it as JSON."""
    ac = control if control is not None else get_access_control()
    out = ac.protect(value, purpose, subject, scope=scope, action=action, field=field)
    return JsonResponse(jsonable(out), status=status, safe=False)


def shaped(purpose: str, *, subject: SubjectSpec = None, scope: AccessScope | None = None,
           action: str | None = None, returns: str = "", status: int = 200,
           control: AccessControl | None = None) -> Callable[[Callable[..., Any]],
                                                             Callable[..., JsonResponse]]:
    """Guard a view with :func:`~finprivacy.requires`; answer its result as JSON.

    ``subject`` names the URL keyword argument holding the client's id::

        @shaped("account_verification", subject="client_no")
        def client_detail(request, client_no): return Client.objects.get(...).row()
    """
    guard = requires(purpose, subject=subject, scope=scope, action=action, returns=returns,
                     control=control)

    def decorate(view: Callable[..., Any]) -> Callable[..., JsonResponse]:
        guarded = guard(view)

        @functools.wraps(view)
        def answer(*args: Any, **kwargs: Any) -> JsonResponse:
            return JsonResponse(jsonable(guarded(*args, **kwargs)), status=status, safe=False)

        return answer

    return decorate
