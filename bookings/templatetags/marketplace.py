"""``{% owner_penalty booking %}``: what cancelling now would cost the owner, before confirming."""

from __future__ import annotations

from django import template

from bookings.marketplace.rules import marketplace_rules_for, owner_cancel_penalty

register = template.Library()


@register.simple_tag
def owner_penalty(booking) -> str:
    """The penalty sentence for cancelling ``booking`` now, or '' when its source has no rules."""
    rules = marketplace_rules_for(booking.source)
    if rules is None:
        return ""
    return str(owner_cancel_penalty(booking, rules))
