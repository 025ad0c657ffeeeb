"""Double bookings of crew: a member on two charters whose times overlap."""

from __future__ import annotations

from dataclasses import dataclass

from bookings.models import Booking

from .models import CrewAssignment, CrewMember


@dataclass(frozen=True)
class CrewConflict:
    member: CrewMember
    other: Booking

    def __str__(self) -> str:
        start = self.other.local_start
        return (
            f"{self.member.name} is also on {self.other.reference} ({self.other.boat.name}, "
            f"{start:%a %b %-d %H:%M}–{self.other.local_end:%H:%M}), which overlaps this charter."
        )


def crew_assignment_conflicts(booking: Booking) -> list[CrewConflict]:
    """Other live charters overlapping this one that share a member (declined ones excluded).

    Reads only; one query. Empty for a charter that is not live.
    """
    if not booking.is_live or booking.pk is None:
        return []
    members = CrewAssignment.objects.filter(booking=booking).exclude(
        response=CrewAssignment.Response.DECLINED
    )
    clashes = (
        CrewAssignment.objects.filter(
            member__in=members.values("member"),
            booking__status__in=Booking.LIVE_STATUSES,
            booking__start__lt=booking.end,
            booking__end__gt=booking.start,
        )
        .exclude(booking=booking)
        .exclude(response=CrewAssignment.Response.DECLINED)
        .select_related("member", "booking__boat")
        .order_by("member__name", "booking__start")
    )
    return [CrewConflict(member=a.member, other=a.booking) for a in clashes]
