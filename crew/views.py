"""Crew pages, reached by magic link."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from sesame.decorators import authenticate

from .models import CrewAssignment


@authenticate(scope="booking:{booking_id}", required=False)
def crew_event(request: HttpRequest, booking_id: int) -> HttpResponse:
    """The charter's details for an assigned crew member."""
    if not request.user.is_authenticated or not hasattr(request.user, "crew_member"):
        raise PermissionDenied("This link is not valid for this charter.")
    assignment = get_object_or_404(
        CrewAssignment.objects.select_related("booking__boat", "member"),
        booking_id=booking_id,
        member=request.user.crew_member,
    )
    return render(
        request, "crew/event.html", {"assignment": assignment, "booking": assignment.booking}
    )
