"""Admin template tags: a date hierarchy that reads the calendar, not the table; the fan-out
badges' legend, from the configured targets."""

from __future__ import annotations

from django import template
from django.utils.html import format_html_join

from charterops.admin_lists import date_hierarchy_choices
from charterops.fanout.targets import get_targets, target_label, target_short

register = template.Library()


@register.inclusion_tag("admin/date_hierarchy.html")
def fixed_date_hierarchy(cl) -> dict:
    """Django's date hierarchy links, from ``date_hierarchy_choices`` (no DISTINCT query)."""
    if not cl.date_hierarchy:
        return {"show": False}
    return date_hierarchy_choices(cl)


@register.simple_tag
def fanout_legend() -> str:
    """``Cal = calendar · Crew = crew · ...``: each configured target's badge word and name."""
    return format_html_join(
        " · ",
        "{} = {}",
        ((target_short(name), target_label(name).lower()) for name in get_targets()),
    )
