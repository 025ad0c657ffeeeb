"""Telling crew about their charters: one Notification row per member, version and kind."""

from __future__ import annotations

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from bookings.models import Booking

from .magic_links import crew_magic_link
from .models import Notification


def booking_crew_notify(booking: Booking) -> int:
    """Notify each assigned member not yet told about this version. Idempotent; returns sends."""
    kind = Notification.Kind.NEW if booking.is_live else Notification.Kind.CANCELLED
    sent = 0
    for assignment in booking.assignments.select_related("member__user"):
        member = assignment.member
        try:
            with transaction.atomic():
                note = Notification.objects.create(
                    booking=booking,
                    member=member,
                    booking_version=booking.version,
                    kind=kind,
                    channel=member.notify_by,
                )
        except IntegrityError:
            continue  # already recorded for this version: never send twice
        context = {
            "booking": booking,
            "assignment": assignment,
            "kind": note.get_kind_display(),
            "link": crew_magic_link(assignment),
        }
        subject = f"{note.get_kind_display()}: {booking.boat} {timezone.localtime(booking.start):%a %b %-d %H:%M}"
        send_mail(
            subject, render_to_string("crew/email/notification.txt", context), None, [member.email]
        )
        Notification.objects.filter(pk=note.pk).update(
            status=Notification.Status.SENT, sent_at=timezone.now()
        )
        sent += 1
    return sent
