"""URLs of guest pages: the clean page URL (embedded default), the photo drop, the party forms."""

from django.urls import path

from . import views

app_name = "guestpages"
urlpatterns = [
    path("g/<slug:page_id>", views.guest_page_serve, name="page"),
    path("g/<slug:page_id>/", views.guest_page_slash),
    path("g/<slug:page_id>/presign", views.guest_photo_presign, name="presign"),
    path("g/<slug:page_id>/photos", views.guest_photo_confirm_view, name="photo_confirm"),
    path("g/<slug:page_id>/party", views.guest_party, name="party"),
    path("g/<slug:page_id>/party/<slug:token>", views.guest_waiver_sign, name="sign"),
]
