"""Shim: the iCalendar feed lives in ``bookings.calendar.feed``.

Kept until bench/ is free again (issue 19): ``bench/admin_scale.py`` and
``bench/calendar_feed.py`` import these names from here.
"""

from .calendar.feed import calendar_feed_token_get_or_issue, calendar_feed_token_issue

__all__ = ["calendar_feed_token_get_or_issue", "calendar_feed_token_issue"]
