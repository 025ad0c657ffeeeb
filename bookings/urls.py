"""URLs of the bookings app: webhook, API, calendar feed."""

from django.urls import path

from . import webhooks
from .api import api
from .calendar import views as calendar_views

urlpatterns: list = [
    path("webhooks/bookings/<slug:source>/", webhooks.booking_webhook, name="booking_webhook"),
    path("api/", api.urls),
    path("calendar/<str:token>.ics", calendar_views.calendar_feed, name="calendar-feed"),
]
