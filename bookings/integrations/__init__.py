"""Adapters to the outside services the bookings app talks to (Google Calendar, its credentials)."""
