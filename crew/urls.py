"""URLs of the crew pages."""

from django.urls import include, path

from . import views

app_name = "crew"
urlpatterns = [
    path("crew/events/<int:booking_id>/", views.crew_event, name="event"),
    # anymail's tracking webhook: SES bounces/complaints through SNS (crew/email_tracking.py)
    path("anymail/", include("anymail.urls")),
]
