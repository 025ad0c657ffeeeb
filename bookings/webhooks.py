"""The marketplace webhook: ``POST /webhooks/bookings/<source>/`` (contract in docs/webhooks.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .intake.webhook import headers_storable, webhook_delivery_receive, webhook_delivery_refuse
from .signatures import SIGNATURE_HEADER


# No session, no CSRF: the sender authenticates with the HMAC signature. Not atomic: the
# delivery's INSERT is its own transaction, committed before the answer (bookings.deliveries).
@csrf_exempt
@transaction.non_atomic_requests
@require_POST
def booking_webhook(request: HttpRequest, source: str) -> JsonResponse:
    """Cheap reject, then check and store the delivery in one INSERT; a worker applies it."""
    if SIGNATURE_HEADER not in request.headers:
        return JsonResponse({"error": f"missing {SIGNATURE_HEADER} header"}, status=401)
    if request.content_type != "application/json":
        message = f"the body must be application/json, not {request.content_type or 'untyped'}"
        return JsonResponse({"error": message}, status=415)
    limit = settings.CHARTEROPS_WEBHOOK_MAX_BYTES
    meta = {
        "headers": headers_storable(request.headers),
        "remote_addr": request.META.get("REMOTE_ADDR"),
    }
    declared = _content_length(request)
    if declared > limit:
        message = f"body of {declared} bytes is larger than the {limit}-byte limit"
        delivery = webhook_delivery_refuse(source, error=message, http_status=413, **meta)
        return JsonResponse({"error": message, "delivery": delivery.pk}, status=413)
    body = request.body
    if len(body) > limit:  # a lying Content-Length
        message = f"body is larger than the {limit}-byte limit"
        delivery = webhook_delivery_refuse(source, error=message, http_status=413, **meta)
        return JsonResponse({"error": message, "delivery": delivery.pk}, status=413)
    result = webhook_delivery_receive(source, body=body, **meta)
    return JsonResponse(result.body(), status=result.http_status)


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
