"""Bookings: boats, bookings, intake (webhook, API, admin, CSV) and the calendar target."""
