"""Staff correct the party from the admin, through the guest form's domain functions, audited;
a signed name stays locked and leaves the party only with a reason."""

from __future__ import annotations

import pytest
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from charterops.models import AuditEvent
from guestpages.manifest import (
    ManifestRefused,
    manifest_entries,
    manifest_entry_add,
    manifest_entry_remove,
    manifest_entry_rename,
    party_status,
    waiver_sign,
)
from guestpages.models import GuestPage, ManifestEntry, WaiverSignature
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def page():
    return GuestPage.objects.create(booking=factories.BookingFactory(party_size=3))


def party_url(booking) -> str:
    return reverse("admin:guestpages_manifestentry_party", args=[booking.pk])


def test_staff_fix_a_typo_and_the_audit_row_names_them(page, staff_user):
    entry = manifest_entry_add(page.booking, full_name="Ana Ruis")
    manifest_entry_rename(entry, full_name="Ana Ruiz", actor=staff_user)
    entry.refresh_from_db()
    assert entry.full_name == "Ana Ruiz"
    event = AuditEvent.objects.get(action="guestpages.manifest.entry_renamed")
    assert event.actor == staff_user and event.data == {"old": "Ana Ruis", "new": "Ana Ruiz"}
    manifest_entry_rename(entry, full_name="Ana Ruiz", actor=staff_user)  # unchanged: no row
    assert AuditEvent.objects.filter(action="guestpages.manifest.entry_renamed").count() == 1
    with pytest.raises(ManifestRefused, match="characters we cannot keep"):
        manifest_entry_rename(entry, full_name="Ana\u202eRuiz", actor=staff_user)


def test_a_signed_name_is_locked_and_leaves_only_with_a_reason(page, staff_user):
    entry = manifest_entry_add(page.booking, full_name="Ana Ruiz")
    signature = waiver_sign(entry, signed_name="Ana Ruiz", over_18=True, accepted=True)
    with pytest.raises(ManifestRefused, match="locked"):
        manifest_entry_rename(entry, full_name="Anna Ruiz", actor=staff_user)
    with pytest.raises(ManifestRefused, match="stays on the list"):
        manifest_entry_remove(page.booking, token=entry.token)  # the guest never can
    with pytest.raises(ManifestRefused, match="give the reason"):
        manifest_entry_remove(page.booking, token=entry.token, actor=staff_user, reason="  ")

    name = manifest_entry_remove(
        page.booking, token=entry.token, actor=staff_user, reason="Ill, stayed ashore."
    )
    assert name == "Ana Ruiz"
    entry.refresh_from_db()
    assert entry.removed_at is not None and entry.removed_reason == "Ill, stayed ashore."
    assert WaiverSignature.objects.get(pk=signature.pk).entry_id == entry.pk  # the record stays
    assert manifest_entries(page.booking) == [] and party_status(page.booking).signed == 0
    event = AuditEvent.objects.get(action="guestpages.manifest.entry_removed")
    assert event.actor == staff_user
    assert event.data == {
        "name": "Ana Ruiz",
        "reason": "Ill, stayed ashore.",
        "waiver_id": signature.pk,
    }
    # The place is free again, and the removed person's share link no longer opens.
    manifest_entry_add(page.booking, full_name="Bo Ruiz")
    client_page = f"/g/{page.page_id}/party/{entry.token}"
    from django.test import Client

    assert Client().get(client_page).status_code == 404


def test_an_unsigned_name_staff_remove_is_deleted(page, staff_user):
    entry = manifest_entry_add(page.booking, full_name="Cy")
    manifest_entry_remove(page.booking, token=entry.token, actor=staff_user)
    assert not ManifestEntry.objects.exists()
    assert AuditEvent.objects.get(action="guestpages.manifest.entry_removed").actor == staff_user


def test_staff_correct_the_party_from_the_admin(client, staff_user, page):
    client.force_login(staff_user)
    booking = page.booking
    html = client.get(reverse("admin:bookings_booking_change", args=[booking.pk])).content.decode()
    assert party_url(booking) in html

    assert (
        client.post(party_url(booking), {"form": "add", "full_name": "Ana Ruis"}).status_code == 302
    )
    entry = ManifestEntry.objects.get()
    assert AuditEvent.objects.get(action="guestpages.manifest.entry_added").actor == staff_user
    client.post(
        party_url(booking), {"form": "rename", "token": entry.token, "full_name": "Ana Ruiz"}
    )
    entry.refresh_from_db()
    assert entry.full_name == "Ana Ruiz"

    waiver_sign(entry, signed_name="Ana Ruiz", over_18=True, accepted=True)
    listed = client.get(party_url(booking)).content.decode()
    assert "locked (signed)" in listed and 'name="reason"' in listed
    refused = client.post(
        party_url(booking), {"form": "remove", "token": entry.token}, follow=True
    ).content.decode()
    assert "give the reason" in refused
    assert manifest_entries(booking) == [entry]

    client.post(party_url(booking), {"form": "remove", "token": entry.token, "reason": "No-show"})
    entry.refresh_from_db()
    assert entry.removed_reason == "No-show"
    booking_page = client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))
    assert "Ana Ruiz" not in booking_page.content.decode().split("Party (manifest)")[-1]


def test_the_party_page_needs_the_change_permission(client, page, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    client.force_login(viewer)
    assert client.get(party_url(page.booking)).status_code == 403
    assert (
        client.post(party_url(page.booking), {"form": "add", "full_name": "X"}).status_code == 403
    )
    assert not ManifestEntry.objects.exists()


def test_the_booking_page_stays_flat_with_removed_names(client, staff_user, page):
    from django.db import connection

    client.force_login(staff_user)
    url = reverse("admin:bookings_booking_change", args=[page.booking_id])
    first = manifest_entry_add(page.booking, full_name="Ana Ruiz")
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    waiver_sign(first, signed_name="Ana Ruiz", over_18=True, accepted=True)
    manifest_entry_remove(page.booking, token=first.token, actor=staff_user, reason="No-show")
    for name in ("Bo Ruiz", "Cy Ruiz", "Di Ruiz"):
        entry = manifest_entry_add(page.booking, full_name=name)
        waiver_sign(entry, signed_name=name, over_18=True, accepted=True)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    print(f"booking page: {len(one)} queries with 1 name, {len(many)} with 3 signed + 1 removed")
    assert len(many) == len(one)


def test_the_party_members_list_is_read_only(superuser_client, page):
    manifest_entry_add(page.booking, full_name="Ana Ruiz")
    response = superuser_client.get(reverse("admin:guestpages_manifestentry_changelist"))
    assert response.status_code == 200 and "Ana Ruiz" in response.content.decode()


def test_the_party_members_list_does_not_grow_with_the_table(superuser_client):
    from django.db import connection

    url = reverse("admin:guestpages_manifestentry_changelist")

    def fill(n: int) -> int:
        for i in range(n):
            booking = factories.BookingFactory(party_size=1)
            entry = manifest_entry_add(booking, full_name=f"Guest {i}")
            waiver_sign(entry, signed_name=f"Guest {i}", over_18=True, accepted=True)
        with CaptureQueriesContext(connection) as ctx:
            assert superuser_client.get(url).status_code == 200
        return len(ctx)

    few, many = fill(2), fill(10)
    print(f"party members list: {few} queries at 2 rows, {many} at 12")
    assert few == many
