"""Top-level URLs: admin, health, and each app's own url module."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from . import views

admin.site.site_header = "CharterOps"
admin.site.site_title = "CharterOps"
admin.site.index_title = "Operations"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("healthz", views.healthz, name="healthz"),  # answered by charterops.health's middleware
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("", include("bookings.urls")),
    path("", include("crew.urls")),
    path("", include("guestpages.urls")),
    path("", include("bookings.photos.urls")),
]
