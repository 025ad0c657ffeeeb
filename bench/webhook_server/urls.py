"""The app's URLs plus ``/bench/bare-insert/``, mounted only in the benchmark's server."""

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bookings.models import WebhookDelivery
from charterops.urls import urlpatterns as app_urlpatterns


@csrf_exempt
@require_POST
def bare_insert(request: HttpRequest) -> JsonResponse:
    """The floor: read the body, insert one row, answer. No signature, no parsing."""
    row = WebhookDelivery.objects.create(source="bench-bare", body=request.body.decode())
    return JsonResponse({"status": "stored", "delivery": row.pk}, status=202)


urlpatterns = [path("bench/bare-insert/", bare_insert), *app_urlpatterns]
