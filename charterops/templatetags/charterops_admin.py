"""Admin template tags: a date hierarchy that reads the calendar, not the table."""

from __future__ import annotations

from django import template

from charterops.admin_lists import date_hierarchy_choices

register = template.Library()


@register.inclusion_tag("admin/date_hierarchy.html")
def fixed_date_hierarchy(cl) -> dict:
    """Django's date hierarchy links, from ``date_hierarchy_choices`` (no DISTINCT query)."""
    if not cl.date_hierarchy:
        return {"show": False}
    return date_hierarchy_choices(cl)
