"""Staff see, per booking and per member, what each member was last told and when; and the
crew part of the attention list (staff notices, failed messages). Query counts stay flat."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from bookings.services import booking_update
from crew.models import Notification, StaffNotice
from crew.notifications import booking_crew_notify, crew_last_told
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def told_twice(settings):
    """Two members told v1; the charter moves; one is told v2, the other's v2 is retrying."""
    settings.CHARTEROPS_FANOUT_BACKOFF_BASE = 0
    booking = factories.BookingFactory()
    ana = factories.CrewAssignmentFactory(booking=booking, member__name="Ana Able")
    ben = factories.CrewAssignmentFactory(booking=booking, member__name="Ben Busy")
    booking_crew_notify(booking)
    booking_update(booking, meeting_point="Shelter Island")
    booking.refresh_from_db()
    booking_crew_notify(booking)
    Notification.objects.filter(member=ben.member, booking_version=2).update(
        status="retrying", error="AWS Throttling: Rate exceeded", sent_at=None
    )
    return booking, ana, ben


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_last_told_is_the_last_message_that_reached_each_member(told_twice):
    booking, ana, ben = told_twice

    pairs = {p.member.name: p for p in crew_last_told(booking=booking)}

    assert pairs["Ana Able"].told.booking_version == 2 and pairs["Ana Able"].up_to_date
    assert pairs["Ben Busy"].told.booking_version == 1
    assert pairs["Ben Busy"].newest.status == "retrying" and not pairs["Ben Busy"].up_to_date


def test_the_booking_page_shows_what_each_member_was_last_told(superuser_client, told_twice):
    booking, ana, ben = told_twice

    page = text(superuser_client.get(reverse("admin:bookings_booking_change", args=[booking.pk])))

    assert "crew told" in page.lower()
    assert re.search(r"Ana Able Changed charter \(v2\), \w+ \d+ \d\d:\d\d Email up to date", page)
    assert re.search(
        r"Ben Busy New charter \(v1\), .*? Email v2 Changed charter Retrying: AWS Throttling",
        page,
    )


def test_the_member_page_shows_their_last_message_per_charter(superuser_client, told_twice):
    booking, ana, ben = told_twice

    page = text(superuser_client.get(reverse("admin:crew_crewmember_change", args=[ben.member_id])))

    assert "what they were last told, per charter" in page.lower()
    assert "New charter (v1)" in page and "Retrying: AWS Throttling" in page


def test_the_member_list_shows_the_last_message_in_a_flat_number_of_queries(
    superuser_client, django_assert_max_num_queries, told_twice
):
    url = reverse("admin:crew_crewmember_changelist")
    with django_assert_max_num_queries(12) as few:
        superuser_client.get(url)
    for _ in range(10):
        assignment = factories.CrewAssignmentFactory()
        booking_crew_notify(assignment.booking)

    with django_assert_max_num_queries(len(few.captured_queries)):
        page = text(superuser_client.get(url))

    assert re.search(r"Ana Able .*? Changed charter, \w+ \d+ \d\d:\d\d", page)


def test_staff_notices_are_listed_for_staff_in_a_flat_number_of_queries(
    superuser_client, django_assert_max_num_queries, settings
):
    from crew.assignments import crew_assignment_respond

    settings.CHARTEROPS_OPERATIONS_EMAIL = ["ops@queenofsandiego.com"]
    url = reverse("admin:crew_staffnotice_changelist")
    crew_assignment_respond(factories.CrewAssignmentFactory(), response="declined")
    with django_assert_max_num_queries(12) as few:
        superuser_client.get(url)
    for _ in range(10):
        crew_assignment_respond(factories.CrewAssignmentFactory(), response="declined")

    with django_assert_max_num_queries(len(few.captured_queries)):
        page = text(superuser_client.get(url))

    assert StaffNotice.objects.count() == 11
    assert page.count("ops@queenofsandiego.com") >= 11 and "Crew declined" in page


def test_the_booking_list_filters_bookings_with_a_message_failed_for_good(superuser_client):
    failing = factories.CrewAssignmentFactory(
        booking__guest_name="Gina Failing", member__email_flagged="bounced", member__phone=""
    )
    factories.CrewAssignmentFactory(booking__guest_name="Olly Okay")
    booking_crew_notify(failing.booking)

    page = text(superuser_client.get(reverse("admin:bookings_booking_changelist") + "?crew=failed"))

    assert "Gina Failing" in page and "Olly Okay" not in page
