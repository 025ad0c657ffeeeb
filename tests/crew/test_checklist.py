"""Checklist ticks: who and when, idempotent, never losing another crew member's work; progress."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection
from django.urls import reverse

from bookings.models import Booking
from charterops.models import AuditEvent
from crew.checklist import (
    bookings_with_checklist_progress,
    checklist_item_complete,
    checklist_item_uncomplete,
    checklist_progress,
    checklist_progress_of,
    checklist_scaffold,
)
from crew.models import ChecklistItem
from tests import factories
from tests.crew.portal_helpers import checklist


@pytest.mark.django_db
class TestTicks:
    def test_complete_records_member_time_and_note_with_one_audit_row(self):
        a = factories.CrewAssignmentFactory(member__name="Ana")
        item = checklist(a.booking, pre=1)[0]
        assert checklist_item_complete(item, member=a.member, note="  Fuel 7/8  ") is True
        item.refresh_from_db()
        assert (item.done_by, item.note) == (a.member, "Fuel 7/8")
        assert item.done_at is not None
        event = AuditEvent.objects.get()
        assert event.action == "crew.checklist_item.completed"
        assert event.booking_id == a.booking_id

    def test_second_tick_keeps_the_first_who_and_when(self):
        a = factories.CrewAssignmentFactory()
        b = factories.CrewAssignmentFactory(booking=a.booking)
        item = checklist(a.booking, pre=1)[0]
        checklist_item_complete(item, member=a.member)
        first = ChecklistItem.objects.get(pk=item.pk).done_at
        stale = ChecklistItem.objects.get(pk=item.pk)
        assert checklist_item_complete(stale, member=b.member) is False
        item.refresh_from_db()
        assert (item.done_by, item.done_at) == (a.member, first)
        assert checklist_item_complete(stale, member=b.member, note="Topped up") is True
        item.refresh_from_db()
        assert (item.done_by, item.note) == (a.member, "Topped up")
        assert AuditEvent.objects.filter(action="crew.checklist_item.noted").count() == 1

    def test_uncomplete_clears_the_tick_and_keeps_the_note(self):
        a = factories.CrewAssignmentFactory()
        item = checklist(a.booking, pre=1)[0]
        checklist_item_complete(item, member=a.member, note="wrong boat")
        assert checklist_item_uncomplete(item, member=a.member) is True
        assert checklist_item_uncomplete(item, member=a.member) is False
        item.refresh_from_db()
        assert (item.done, item.done_by, item.note) == (False, None, "wrong boat")

    def test_scaffold_from_the_boat_template_keeps_order_and_ticks(self):
        booking = factories.BookingFactory()
        template = factories.ChecklistTemplateFactory(boat=booking.boat, name="Ketch")
        for n, text in enumerate(["Fuel check", "Supply inventory", "Guest safety briefing"]):
            factories.ChecklistTemplateItemFactory(template=template, text=text, position=n)
        factories.ChecklistTemplateItemFactory(template=template, text="Wash down", phase="post")
        # the template's four, and the self-ticking "All waivers signed" (guest pages' check)
        assert checklist_scaffold(booking) == 5
        items = sorted(booking.checklist_items.all(), key=lambda i: (i.phase != "pre", i.position))
        assert [i.text for i in items] == [
            "Fuel check",
            "Supply inventory",
            "Guest safety briefing",
            "All waivers signed",
            "Wash down",
        ]
        a = factories.CrewAssignmentFactory(booking=booking)
        checklist_item_complete(items[0], member=a.member)
        assert checklist_scaffold(booking) == 0
        assert booking.checklist_items.get(text="Fuel check").done


@pytest.mark.django_db
class TestProgress:
    def test_ready_when_every_required_pre_charter_item_is_done(self):
        a = factories.CrewAssignmentFactory()
        items = checklist(a.booking, pre=3, post=2, required_every=2)  # pre 0,2 required
        progress = checklist_progress(a.booking)
        assert (progress.done, progress.total, progress.ready) == (0, 5, False)
        assert (progress.required_total, progress.pre_required_total) == (3, 2)
        checklist_item_complete(items[0], member=a.member)
        checklist_item_complete(items[2], member=a.member)
        progress = checklist_progress(a.booking)
        assert progress.ready and not progress.required_complete  # post item 0 still open
        assert str(progress) == "2/5 · 1 required open"

    def test_no_checklist_is_not_ready(self):
        assert checklist_progress(factories.BookingFactory()).ready is False

    def test_annotations_agree_with_loaded_items_and_per_booking_queries(self):
        a = factories.CrewAssignmentFactory()
        items = checklist(a.booking, pre=2, post=1)
        checklist_item_complete(items[1], member=a.member)
        factories.BookingFactory()  # a booking without a checklist
        annotated = {b.pk: b for b in bookings_with_checklist_progress(Booking.objects.all())}
        assert checklist_progress(annotated[a.booking_id]) == checklist_progress(a.booking)
        assert checklist_progress(annotated[a.booking_id]) == checklist_progress_of(
            list(a.booking.checklist_items.all())
        )


@pytest.mark.django_db
class TestAdmin:
    def test_booking_list_shows_ready_and_booking_page_shows_progress(self, superuser_client):
        ready = factories.CrewAssignmentFactory(booking__guest_name="Ready Guest")
        items = checklist(ready.booking, pre=2, post=1)
        for item in items[:2]:
            checklist_item_complete(item, member=ready.member)
        not_ready = factories.CrewAssignmentFactory(booking__guest_name="Late Guest")
        checklist(not_ready.booking, pre=2)
        response = superuser_client.get(reverse("admin:bookings_booking_changelist"))
        result = {b.pk: b for b in response.context["cl"].result_list}
        assert checklist_progress(result[ready.booking_id]).ready
        assert not checklist_progress(result[not_ready.booking_id]).ready
        body = response.content.decode()
        assert "column-checklist_ready" in body and 'alt="True"' in body
        page = superuser_client.get(
            reverse("admin:bookings_booking_change", args=[ready.booking_id])
        ).content.decode()
        assert 'data-checklist-progress="2/3"' in page
        assert "READY" in page

    def test_booking_page_shows_the_photo_gallery_with_expiring_urls(
        self, superuser_client, s3_storage, settings
    ):
        import boto3

        a = factories.CrewAssignmentFactory()
        photo = factories.PhotoFactory(booking=a.booking, member=a.member)
        boto3.client("s3", region_name=settings.AWS_REGION).put_object(
            Bucket=settings.PHOTOS_BUCKET, Key=photo.key, Body=b"x", ContentType="image/jpeg"
        )
        page = superuser_client.get(
            reverse("admin:bookings_booking_change", args=[a.booking_id])
        ).content.decode()
        assert photo.key in page and "X-Amz-Expires=" in page


def _on_postgresql() -> bool:
    return connection.vendor == "postgresql"


@pytest.mark.django_db(transaction=True)
def test_two_crew_ticking_at_once_both_keep_their_work():
    """Many threads tick different items of one checklist at the same moment; none is lost."""
    if not _on_postgresql():
        pytest.skip("needs real concurrent connections: runs on the PostgreSQL pass")
    a = factories.CrewAssignmentFactory()
    b = factories.CrewAssignmentFactory(booking=a.booking)
    items = checklist(a.booking, pre=12)
    start = threading.Barrier(len(items))
    errors: list[BaseException] = []

    def tick(item, member):
        try:
            start.wait()
            checklist_item_complete(item, member=member, note=f"by {member.pk}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [
        threading.Thread(target=tick, args=(item, (a.member, b.member)[n % 2]))
        for n, item in enumerate(items)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    done = ChecklistItem.objects.filter(booking=a.booking, done_at__isnull=False)
    assert done.count() == 12
    assert {i.note for i in done} == {f"by {a.member.pk}", f"by {b.member.pk}"}


@pytest.mark.django_db(transaction=True)
def test_two_crew_ticking_the_same_item_at_once_keep_one_tick():
    if not _on_postgresql():
        pytest.skip("needs real concurrent connections: runs on the PostgreSQL pass")
    crew = [factories.CrewAssignmentFactory()]
    crew += [factories.CrewAssignmentFactory(booking=crew[0].booking) for _ in range(5)]
    item = checklist(crew[0].booking, pre=1)[0]
    start = threading.Barrier(len(crew))
    results: list[bool] = []

    def tick(member):
        try:
            start.wait()
            results.append(
                checklist_item_complete(ChecklistItem.objects.get(pk=item.pk), member=member)
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=tick, args=(a.member,)) for a in crew]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]
    assert AuditEvent.objects.filter(action="crew.checklist_item.completed").count() == 1


@pytest.mark.django_db
def test_ready_column_keeps_the_booking_list_query_count_flat(client, django_user_model):
    from django.test.utils import CaptureQueriesContext

    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)

    def add(n: int) -> None:
        for _ in range(n):
            a = factories.CrewAssignmentFactory()
            for item in checklist(a.booking, pre=3, post=2):
                checklist_item_complete(item, member=a.member)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("admin:bookings_booking_changelist")).status_code == 200
        return len(ctx.captured_queries)

    add(3)
    few = count()
    add(20)
    assert count() == few
