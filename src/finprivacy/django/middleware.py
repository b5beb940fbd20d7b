"""``FinPrivacyMiddleware``: the acting principal and request id for each request.

Add it after Django's ``AuthenticationMiddleware``::

    MIDDLEWARE = [..., "django.contrib.auth.middleware.AuthenticationMiddleware",
                  "finprivacy.django.middleware.FinPrivacyMiddleware"]

The principal comes from ``FINPRIVACY["PRINCIPAL"]`` (a dotted path to
``callable(request) -> Principal | None``), by default :func:`principal_from_user`: an
authenticated ``request.user`` becomes ``Principal(str(user.pk), roles=<its group
names>)``. The binding is entered and left around the view in the same thread, so
``@fp.requires`` works in views; with no principal the decorators fail closed.
``AccessDeniedError`` becomes a 403 ``application/problem+json`` naming only the
reason; every audit entry made during the request carries its id (the
``X-Request-ID`` header when plausible, else a new one, set on the response).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from django.utils.module_loading import import_string

from ..access import Principal, acting_as, in_request
from ..errors import AccessDeniedError, ConfigurationError
from .conf import setting

__all__ = ["FinPrivacyMiddleware", "principal_from_user"]

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def principal_from_user(request: Any) -> Principal | None:
    """``request.user`` as a principal: its primary key, its groups as roles."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    roles = frozenset(g.name for g in user.groups.all())
    return Principal(str(user.pk), roles=roles)


class FinPrivacyMiddleware:
    """Bind the principal and the request id around each view."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        path = setting("PRINCIPAL")
        self.resolve: Callable[[Any], Principal | None] = (
            import_string(path) if path else principal_from_user)
        self.header = str(setting("REQUEST_ID_HEADER", "X-Request-ID"))

    def __call__(self, request: Any) -> Any:
        """Serve ``request`` with its principal and request id bound."""
        given = request.headers.get(self.header, "")
        rid = given if _REQUEST_ID.fullmatch(given) else os.urandom(16).hex()
        with in_request(rid):
            found = self.resolve(request)
            if found is not None and not isinstance(found, Principal):
                raise ConfigurationError("FINPRIVACY['PRINCIPAL'] must return a Principal "
                                         f"or None, not {type(found).__name__}")
            if found is None:
                response = self.get_response(request)
            else:
                with acting_as(found):
                    response = self.get_response(request)
        response[self.header] = rid
        return response

    def process_exception(self, request: Any, exception: Exception) -> Any:
        """``AccessDeniedError`` → 403 problem+json with the reason code only."""
        if not isinstance(exception, AccessDeniedError):
            return None
        reason = exception.reason or "denied"
        body = {"type": "about:blank", "title": "Forbidden", "status": 403,
                "detail": f"access denied ({reason})", "reason": reason}
        return HttpResponse(json.dumps(body), status=403,
                            content_type="application/problem+json")
