"""Shim: the calendar admin lives in ``bookings.calendar.admin``.

Kept until bookings/admin.py is reassembled (issue 19, registry): it imports this module to
register the calendar's admins. Importing ``bookings.calendar.admin`` registers them.
"""

from .calendar.admin import CalendarDriftAdmin, CalendarEntryAdmin, CalendarFeedTokenAdmin

__all__ = ["CalendarDriftAdmin", "CalendarEntryAdmin", "CalendarFeedTokenAdmin"]
