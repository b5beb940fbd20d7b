"""Views: purpose-checked, answered masked by need-to-know."""

import json
import uuid

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

import finprivacy as fp
from finprivacy.consent import Evidence
from finprivacy.django.views import respond
from finprivacy.identifiers import cn_id

from .access import BREAK_GLASS_TTL, services
from .models import Client


def shaped(value: object, purpose: str, subject: str | None = None) -> JsonResponse:
    control, _, _ = services()
    return respond(value, purpose, subject, control=control)


def _client(client_no: str) -> Client:
    return Client.objects.get(client_no=client_no)


@csrf_exempt
@require_http_methods(["POST"])
def open_client(request: HttpRequest) -> JsonResponse:
    body = json.loads(request.body)
    try:
        cn_id.validate(body.get("id_no", ""))
    except fp.InvalidIdentifierError as exc:
        return JsonResponse({"error": f"id_no: {type(exc).__name__}"}, status=422)
    client = Client.objects.create(client_no=str(uuid.uuid4()), name=body["name"],
                                   id_no=body["id_no"], card_no=body.get("card_no"),
                                   phone=body.get("phone"))
    return JsonResponse({"client_no": client.client_no}, status=201)


def client_detail(request: HttpRequest, client_no: str) -> JsonResponse:
    return shaped(_client(client_no).row(), "account_verification", client_no)


def lookup(request: HttpRequest) -> JsonResponse:
    wanted = cn_id.compact(request.GET.get("id_no", ""))
    rows = [c.row() for c in Client.objects.filter(id_no=wanted)
            if c.id_no.reveal() == wanted]  # the blind index may collide: confirm
    return shaped(rows, "account_verification")


@csrf_exempt
@require_http_methods(["POST", "DELETE"])
def consent(request: HttpRequest, client_no: str) -> JsonResponse:
    _, _, consents = services()
    if request.method == "POST":
        consents.grant(client_no, "newsletter", evidence=Evidence(channel="web"))
    else:
        consents.withdraw(client_no, "newsletter")
    return JsonResponse({"ok": True})


def newsletter(request: HttpRequest, client_no: str) -> JsonResponse:
    return shaped(_client(client_no).row(), "newsletter", client_no)


@csrf_exempt
@require_http_methods(["POST"])
def emergency(request: HttpRequest, client_no: str) -> JsonResponse:
    control, _, _ = services()
    reason = json.loads(request.body).get("reason", "")
    with control.break_glass(reason=reason, ttl=BREAK_GLASS_TTL):
        return shaped(_client(client_no).row(), "account_verification", client_no)


def audit_trail(request: HttpRequest, client_no: str) -> JsonResponse:
    who = fp.current_principal()
    if who is None or "supervisor" not in who.roles:
        raise fp.AccessDeniedError("supervisors only", reason="no_permission")
    _, audit, _ = services()
    return JsonResponse([{"actor": e.actor, "purpose": e.purpose, "decision": e.decision,
                          "break_glass": e.break_glass, "request_id": e.request_id,
                          "fields_masked": list(e.fields_masked)}
                         for e in audit.query(subject=client_no)], safe=False)
