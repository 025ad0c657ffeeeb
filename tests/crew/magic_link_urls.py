"""A URLconf whose crew page only says who opened it: tests the decorator alone."""

from django.http import HttpResponse
from django.urls import include, path

from crew.magic_link_views import crew_link_required


@crew_link_required
def crew_probe(request, booking_id: int) -> HttpResponse:
    assignment = request.crew_assignment
    return HttpResponse(
        f"charter {assignment.booking_id} for {request.crew_member.name} "
        f"as {assignment.get_role_display()} at {assignment.booking.meeting_point}"
    )


urlpatterns = [
    path("crew/events/<int:booking_id>/", crew_probe, name="crew-probe"),
    path("", include("charterops.urls")),
]
