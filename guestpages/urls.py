"""URLs of guest pages: the clean page URL served locally on the embedded default."""

from django.urls import path

from . import views

app_name = "guestpages"
urlpatterns = [
    path("g/<slug:page_id>", views.guest_page_serve, name="page"),
]
