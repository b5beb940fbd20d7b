"""URLs of the Django test project."""

from __future__ import annotations

from django.contrib import admin
from django.http import JsonResponse
from django.urls import path

import finprivacy as fp
from finprivacy.access import current_principal, current_request_id


def whoami(request: object) -> JsonResponse:
    p = current_principal()
    return JsonResponse({"principal": p.id if p else "", "roles": sorted(p.roles) if p else [],
                         "request_id": current_request_id()})


def denied(request: object) -> JsonResponse:
    raise fp.AccessDeniedError("secret detail 11010519491231002X", reason="no_permission")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("whoami", whoami),
    path("denied", denied),
]
