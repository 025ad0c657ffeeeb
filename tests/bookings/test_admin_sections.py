"""The hub imports no spoke: the booking admin, the demo and the guest page's captain come
through registries the spokes fill (bookings.admin_sections, bookings.demo, bookings.people).
The import graph itself is walked in tests/charterops/test_import_graph.py."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from bookings.admin_sections import AdminSection, _placed, admin_section_register, admin_sections
from bookings.models import Boat, Booking
from bookings.people import booking_captain
from tests.factories import BookingFactory, CrewAssignmentFactory, CrewMemberFactory


def _admin_request(user):
    request = RequestFactory().get("/admin/bookings/booking/")
    request.user = user
    return request


@pytest.mark.django_db
def test_the_booking_admin_is_assembled_from_the_sections(admin_user):
    model_admin = site.get_model_admin(Booking)
    request = _admin_request(admin_user)
    assert [s.key for s in admin_sections(Booking)] == [
        "crew",
        "crew.voyage",
        "crew.ops",
        "guestpages",
    ]
    assert model_admin.get_list_display(request)[-4:] == [
        "party_display",
        "crew_display",
        "checklist_ready",
        "fanout",
    ]
    filters = [getattr(f, "__name__", f) for f in model_admin.get_list_filter(request)]
    assert filters[3:6] == ["SourceFilter", "CrewSilenceFilter", "DoubleBookedFilter"]
    assert list(model_admin.get_actions(request)) == [
        "delete_selected",
        "sync_now",
        "retry_failed",
        "cancel_bookings",
        "revoke_crew_links",
    ]
    booking = BookingFactory()
    inlines = [i.__name__ for i in model_admin.get_inlines(request, booking)]
    assert inlines == [
        "CrewAssignmentInline",
        "GuestPageInline",
        "ManifestEntryInline",
        "BookingPayoutInline",
    ]  # the checklist and the guest messages are tables (the checklist editable by ?edit=)
    editing = RequestFactory().get("/", {"edit": "checklist"})
    editing.user = admin_user
    assert "ChecklistItemInline" in [i.__name__ for i in model_admin.get_inlines(editing, booking)]
    titles = [title for title, _ in model_admin.get_fieldsets(request, booking)]
    assert titles[-3:] == ["Departure and return", "Crew operations", "Record"]
    assert model_admin.crew_display.short_description == "crew"  # the week board's cards


@pytest.mark.django_db
def test_the_boat_admin_gets_the_upkeep_inline_and_readings_last(admin_user):
    model_admin = site.get_model_admin(Boat)
    request = _admin_request(admin_user)
    boat = Boat.objects.create(name="Jada", slug="jada", capacity=6)
    assert [i.__name__ for i in model_admin.get_inlines(request, boat)] == ["BoatUpkeepInline"]
    assert model_admin.get_fields(request, boat)[-1] == "readings_display"
    assert "readings_display" not in model_admin.get_fields(request, None)


def test_a_section_is_placed_before_its_anchor_once_and_replaced_by_key():
    assert _placed(["a", "fanout"], [("x", "fanout"), ("y", "nowhere"), ("x", None)]) == [
        "a",
        "x",
        "fanout",
        "y",
    ]
    before = admin_sections(Boat)
    try:
        admin_section_register(Boat, AdminSection(key="test.extra", order=99))
        admin_section_register(Boat, AdminSection(key="test.extra", order=1))
        assert [s.key for s in admin_sections(Boat)][0] == "test.extra"
    finally:
        from bookings import admin_sections as module

        module._SECTIONS["bookings.boat"].pop("test.extra")
    assert admin_sections(Boat) == before


@pytest.mark.django_db
def test_the_captain_comes_from_crew_through_the_hub(monkeypatch):
    booking = BookingFactory()
    assert booking_captain(booking) is None
    CrewAssignmentFactory(
        booking=booking, role="captain", member=CrewMemberFactory(name="Jo", phone="+1619555")
    )
    captain = booking_captain(booking)
    assert (captain.name, captain.phone) == ("Jo", "+1619555")
    from bookings import people

    monkeypatch.setattr(people, "_captain_provider", [])  # no crew app: no captain, no error
    assert booking_captain(booking) is None


def test_the_demo_finds_crews_part_without_importing_it():
    from django.utils.module_loading import autodiscover_modules

    from bookings.demo import DEMO_PARTS

    autodiscover_modules("demo")
    assert "crew" in DEMO_PARTS
