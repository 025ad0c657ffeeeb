"""URLs of the crew pages."""

from django.urls import include, path

from . import scc_api, views
from .voyage import views as voyage_views

app_name = "crew"
urlpatterns = [
    path("crew/events/<int:booking_id>/", views.crew_event, name="event"),
    path("crew/events/<int:booking_id>/respond/", views.crew_respond, name="respond"),
    path(
        "crew/events/<int:booking_id>/checklist/<int:item_id>/",
        views.crew_checklist_tick,
        name="checklist_tick",
    ),
    path("crew/events/<int:booking_id>/photos/grant/", views.crew_photo_grant, name="photo_grant"),
    path(
        "crew/events/<int:booking_id>/photos/confirm/",
        views.crew_photo_confirm,
        name="photo_confirm",
    ),
    path(
        "crew/events/<int:booking_id>/photos/upload/", views.crew_photo_upload, name="photo_upload"
    ),
    path(
        "crew/events/<int:booking_id>/expenses/", views.crew_expense_create, name="expense_create"
    ),
    path(
        "crew/events/<int:booking_id>/expenses/<int:expense_id>/",
        views.crew_expense_edit,
        name="expense_edit",
    ),
    path(
        "crew/events/<int:booking_id>/expenses/<int:expense_id>/delete/",
        views.crew_expense_delete,
        name="expense_delete",
    ),
    path(
        "crew/events/<int:booking_id>/departure/",
        voyage_views.voyage_departure,
        name="voyage_departure",
    ),
    path("crew/events/<int:booking_id>/return/", voyage_views.voyage_return, name="voyage_return"),
    path("crew/events/<int:booking_id>/charters/", views.crew_charters, name="charters"),
    # anymail's tracking webhook: SES bounces/complaints through SNS (crew/email_tracking.py)
    path("anymail/", include("anymail.urls")),
    # the legacy ShipCaptainCrew API (crew/scc_api.py)
    path("api/events", scc_api.scc_events, name="scc_events"),
]
