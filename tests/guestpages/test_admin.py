"""The booking page's guest-page panel and "Republish guest page", run as staff would."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from charterops.models import AuditEvent
from guestpages.models import GuestPage
from guestpages.publishing import guest_page_publish
from tests.factories import BookingFactory, UserFactory
from tests.guestpages.conftest import invalidations

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(db):
    booking = BookingFactory()
    return guest_page_publish(booking).page


def test_the_booking_page_shows_the_guest_page(client, staff_user, published):
    client.force_login(staff_user)
    response = client.get(reverse("admin:bookings_booking_change", args=[published.booking_id]))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'href="{published.public_url}"' in html
    assert published.content_hash in html
    assert "Republish guest page" in html
    assert "0 photo(s), 0 hidden" in html
    assert reverse("admin:guestpages_guestpage_republish", args=[published.booking_id]) in html


def test_republish_asks_first_then_uploads_and_invalidates(client, staff_user, guest_s3):
    page = guest_page_publish(BookingFactory()).page
    client.force_login(staff_user)
    url = reverse("admin:guestpages_guestpage_republish", args=[page.booking_id])

    asked = client.get(url)
    assert asked.status_code == 200
    assert "Yes, republish" in asked.content.decode()
    assert len(invalidations(guest_s3)) == 1  # asking changes nothing

    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:bookings_booking_change", args=[page.booking_id])
    assert len(invalidations(guest_s3)) == 2
    assert any("republished" in str(m) for m in get_messages(response.wsgi_request))
    event = AuditEvent.objects.get(action="guestpages.guest_page.republished")
    assert event.actor == staff_user
    assert event.booking_id == page.booking_id


def test_republish_reports_a_failure_to_staff(client, staff_user, guest_s3, settings):
    page = guest_page_publish(BookingFactory()).page
    settings.CLOUDFRONT_DISTRIBUTION_ID = "E0000NOTREAL"
    client.force_login(staff_user)
    response = client.post(reverse("admin:guestpages_guestpage_republish", args=[page.booking_id]))
    assert response.status_code == 302
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("not republished" in m and "CHARTEROPS_CLOUDFRONT" in m for m in messages)


def test_republish_needs_the_change_booking_permission(client, published):
    viewer = UserFactory(is_staff=True)
    client.force_login(viewer)
    url = reverse("admin:guestpages_guestpage_republish", args=[published.booking_id])
    assert client.post(url).status_code == 403


def test_the_republish_action_on_the_guest_page_list(client, staff_user, guest_s3, settings):
    settings.CLOUDFRONT_DISTRIBUTION_ID = guest_s3
    pages = [guest_page_publish(BookingFactory()).page for _ in range(2)]
    client.force_login(staff_user)
    response = client.post(
        reverse("admin:guestpages_guestpage_changelist"),
        {"action": "republish_pages", "_selected_action": [p.pk for p in pages]},
    )
    assert response.status_code == 302
    assert len(invalidations(guest_s3)) == 4
    assert GuestPage.objects.count() == 2


def test_the_guest_page_list_stays_within_its_query_budget(
    client, staff_user, django_assert_max_num_queries
):
    for _ in range(5):
        guest_page_publish(BookingFactory())
    client.force_login(staff_user)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("admin:guestpages_guestpage_changelist"))
    assert response.status_code == 200


def test_the_add_booking_form_has_no_guest_page_panel(client, staff_user):
    client.force_login(staff_user)
    html = client.get(reverse("admin:bookings_booking_add")).content.decode()
    assert "guest_page-TOTAL_FORMS" not in html  # nothing to post back for a page not yet made
