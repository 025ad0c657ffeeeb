"""URLs of the embedded default's photo endpoints (namespace ``uploads``, paths unchanged)."""

from django.urls import path

from . import views

app_name = "uploads"
urlpatterns = [
    path("uploads/local/", views.local_upload, name="local_upload"),
    path("uploads/photo/<str:token>", views.local_photo, name="local_photo"),
]
