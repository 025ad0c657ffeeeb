"""URLs of the bookings app: webhook, API, calendar feed."""

urlpatterns: list = []
