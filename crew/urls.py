"""URLs of the crew pages."""

from django.urls import path

from . import views

app_name = "crew"
urlpatterns = [
    path("crew/events/<int:booking_id>/", views.crew_event, name="event"),
]
