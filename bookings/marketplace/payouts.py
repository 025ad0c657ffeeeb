"""Recording the owner payout a marketplace actually paid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from charterops.audit import audit_log

from ..models import Booking
from .models import BookingPayout


def booking_payout_record(
    booking: Booking,
    *,
    amount: Decimal,
    received_on: date,
    note: str = "",
    actor: Any = None,
) -> BookingPayout:
    """Record (or correct) the payout received for ``booking``. One transaction, one audit row.

    Idempotent in effect: recording the same values again changes nothing but the audit trail.
    """
    with transaction.atomic():
        payout, created = BookingPayout.objects.select_for_update(of=("self",)).get_or_create(
            booking=booking,
            defaults={"amount": amount, "received_on": received_on, "note": note},
        )
        before = None if created else [str(payout.amount), payout.received_on.isoformat()]
        payout.amount, payout.received_on, payout.note = amount, received_on, note
        payout.recorded_by = actor if getattr(actor, "is_authenticated", False) else None
        payout.save()
        audit_log(
            "bookings.payout.recorded" if created else "bookings.payout.corrected",
            payout,
            actor=actor,
            booking=booking,
            data={
                "amount": str(amount),
                "received_on": received_on.isoformat(),
                "expected": str(booking.owner_payout),
                "before": before,
            },
        )
    return payout
