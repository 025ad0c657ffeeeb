"""``{% voyage_section %}``: the departure and return record on the crew page."""

from __future__ import annotations

from typing import Any

from django import template

from crew.voyage.section import voyage_section_context

register = template.Library()


@register.inclusion_tag("crew/_voyage.html", takes_context=True)
def voyage_section(context: template.Context) -> dict[str, Any]:
    """The record section for the page's assignment; reads two rows, renders the forms."""
    assignment = context["assignment"]
    return {
        **voyage_section_context(assignment),
        "assignment": assignment,
        "booking": assignment.booking,
        "blocked": context.get("blocked", ""),
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }
