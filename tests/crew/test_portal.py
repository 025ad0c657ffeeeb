"""The crew operations page: what a member sees, what they may change, and nothing else."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bookings.photos.models import Photo
from charterops.models import AuditEvent
from crew.models import ChecklistItem, CrewAssignment, Expense
from tests import factories
from tests.crew.portal_helpers import checklist, open_as

pytestmark = pytest.mark.django_db

from tests.images import JPEG  # noqa: E402


@pytest.fixture
def assignment():
    return factories.CrewAssignmentFactory(
        member__name="Ana Reyes",
        member__phone="+16195550123",
        role="first_mate",
        pay=Decimal("180.00"),
        booking__meeting_point="Harbor Island West Marina, dock C",
        booking__guest_name="Sam Guest",
        booking__party_size=8,
        booking__special_requests="Birthday cake on board",
    )


@pytest.fixture
def member_client(client, assignment):
    open_as(client, assignment)
    return client


def url(name: str, booking_id: int, *args) -> str:
    return reverse(f"crew:{name}", args=[booking_id, *args])


class TestCharterPage:
    def test_shows_the_charter_the_crew_and_the_members_own_pay(self, member_client, assignment):
        captain = factories.CrewAssignmentFactory(
            booking=assignment.booking, role="captain", member__name="Cap Nemo", pay=300
        )
        body = member_client.get(url("event", assignment.booking_id)).content.decode()
        assert "Harbor Island West Marina, dock C" in body
        assert "maps/search/?api=1&amp;query=Harbor%20Island" in body
        assert "Sam Guest" in body and "party of 8" in body
        assert "Birthday cake on board" in body
        assert "Cap Nemo" in body and "Captain" in body and "tel:+16195550123" in body
        assert "$180.00" in body
        assert f"${captain.pay}" not in body  # another member's pay is not shown
        assert "10:00 AM" in body  # local (Pacific) time

    def test_ships_its_own_static_files_and_nothing_from_elsewhere(self, member_client, assignment):
        body = member_client.get(url("event", assignment.booking_id)).content.decode()
        assert "/static/crew/portal.css" in body and "/static/crew/portal.js" in body
        assert '<script src="http' not in body and '<link rel="stylesheet" href="http' not in body

    def test_another_bookings_page_is_refused(self, member_client, assignment):
        other = factories.CrewAssignmentFactory()
        response = member_client.get(url("event", other.booking_id))
        assert response.status_code == 403
        assert other.booking.guest_name not in response.content.decode()

    def test_without_a_link_nothing_opens(self, client, assignment):
        assert client.get(url("event", assignment.booking_id)).status_code == 403


class TestAnswer:
    def test_accept_then_change_to_decline_writes_one_audit_row_each(
        self, member_client, assignment
    ):
        response = member_client.post(
            url("respond", assignment.booking_id), {"response": "accepted"}
        )
        assert response.status_code == 302
        assignment.refresh_from_db()
        assert assignment.response == "accepted" and assignment.responded_at
        member_client.post(url("respond", assignment.booking_id), {"response": "accepted"})
        member_client.post(url("respond", assignment.booking_id), {"response": "declined"})
        assignment.refresh_from_db()
        assert assignment.response == "declined"
        actions = list(
            AuditEvent.objects.filter(action__startswith="crew.assignment.").values_list(
                "action", flat=True
            )
        )
        assert sorted(actions) == ["crew.assignment.accepted", "crew.assignment.declined"]

    def test_nonsense_answer_is_refused_with_a_message(self, member_client, assignment):
        response = member_client.post(
            url("respond", assignment.booking_id), {"response": "maybe"}, follow=True
        )
        assert "Answer accept or decline." in response.content.decode()
        assignment.refresh_from_db()
        assert assignment.response == CrewAssignment.Response.INVITED


class TestChecklistTicks:
    def test_plain_form_tick_records_who_when_and_note_then_redirects(
        self, member_client, assignment
    ):
        item = checklist(assignment.booking, pre=2)[0]
        response = member_client.post(
            url("checklist_tick", assignment.booking_id, item.pk),
            {"action": "done", "note": "Tank full"},
        )
        assert response.status_code == 302
        assert response["Location"].endswith(f"#item-{item.pk}")
        item.refresh_from_db()
        assert (item.done_by, item.note) == (assignment.member, "Tank full")
        assert item.done_at is not None
        page = member_client.get(url("event", assignment.booking_id)).content.decode()
        assert "Done by Ana Reyes" in page and "1/2" in page

    def test_fetch_tick_answers_json_with_progress(self, member_client, assignment):
        items = checklist(assignment.booking, pre=2, post=1)
        response = member_client.post(
            url("checklist_tick", assignment.booking_id, items[0].pk),
            {"action": "done"},
            HTTP_ACCEPT="application/json",
        )
        data = response.json()
        assert data["done"] is True and data["done_by"] == "Ana Reyes"
        assert data["progress"]["done"] == 1 and data["progress"]["total"] == 3
        assert data["progress"]["ready"] is False
        data = member_client.post(
            url("checklist_tick", assignment.booking_id, items[1].pk),
            {"action": "done"},
            HTTP_ACCEPT="application/json",
        ).json()
        assert data["progress"]["ready"] is True  # every required pre-charter item done
        undo = member_client.post(
            url("checklist_tick", assignment.booking_id, items[1].pk),
            {"action": "undo"},
            HTTP_ACCEPT="application/json",
        ).json()
        assert undo["done"] is False and undo["progress"]["ready"] is False

    def test_an_item_of_another_charter_is_not_found(self, member_client, assignment):
        foreign = factories.ChecklistItemFactory()
        response = member_client.post(
            url("checklist_tick", assignment.booking_id, foreign.pk), {"action": "done"}
        )
        assert response.status_code == 404
        foreign.refresh_from_db()
        assert not foreign.done

    def test_a_member_who_declined_cannot_tick(self, member_client, assignment):
        item = checklist(assignment.booking, pre=1)[0]
        CrewAssignment.objects.filter(pk=assignment.pk).update(response="declined")
        response = member_client.post(
            url("checklist_tick", assignment.booking_id, item.pk),
            {"action": "done"},
            HTTP_ACCEPT="application/json",
        )
        assert response.status_code == 403
        assert not ChecklistItem.objects.get(pk=item.pk).done

    def test_get_is_not_allowed_on_a_state_change(self, member_client, assignment):
        item = checklist(assignment.booking, pre=1)[0]
        response = member_client.get(url("checklist_tick", assignment.booking_id, item.pk))
        assert response.status_code == 405


class TestQueryBudget:
    @staticmethod
    def _grow(assignment, *, items: int, crew: int, photos: int, expenses: int) -> None:
        booking = assignment.booking
        checklist(booking, pre=items, post=items, required_every=2)
        for n, item in enumerate(booking.checklist_items.all()):
            if n % 2:
                item.done_by, item.done_at = assignment.member, booking.start
                item.save()
        for _ in range(crew):
            factories.CrewAssignmentFactory(booking=booking)
        for _ in range(photos):
            factories.PhotoFactory(booking=booking, member=assignment.member)
        for _ in range(expenses):
            factories.ExpenseFactory(booking=booking, member=assignment.member)

    def _count(self, client, assignment, django_assert_max_num_queries) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url("event", assignment.booking_id))
        assert response.status_code == 200
        return len(ctx.captured_queries)

    def test_charter_page_queries_do_not_grow_with_checklist_crew_or_photos(
        self, member_client, assignment, django_assert_max_num_queries
    ):
        self._grow(assignment, items=2, crew=1, photos=1, expenses=1)
        # 7 for the page, +3 for the departure and return record (record, upkeep, rules),
        # +2 for the party (names with their waivers, the emergency contact).
        with django_assert_max_num_queries(12):
            small = self._count(member_client, assignment, django_assert_max_num_queries)
        self._grow(assignment, items=20, crew=6, photos=15, expenses=8)
        with django_assert_max_num_queries(12):
            large = self._count(member_client, assignment, django_assert_max_num_queries)
        assert small == large
        print(f"charter page: {small} queries at 2 items/2 crew/1 photo, {large} at 42/8/16")


class TestPhotos:
    def test_grant_then_local_upload_then_confirm_shows_in_the_page(
        self, member_client, client, assignment
    ):
        grant = member_client.post(
            url("photo_grant", assignment.booking_id),
            {"filename": "deck.jpg", "content_type": "image/jpeg", "size": len(JPEG)},
            HTTP_ACCEPT="application/json",
        ).json()
        assert grant["key"].startswith(f"photos/{assignment.booking_id}/crew/")
        stored = member_client.post(
            grant["url"],
            {**grant["fields"], "file": SimpleUploadedFile("deck.jpg", JPEG, "image/jpeg")},
        )
        assert stored.status_code == 204
        confirmed = member_client.post(
            url("photo_confirm", assignment.booking_id),
            data=f'{{"key": "{grant["key"]}"}}',
            content_type="application/json",
            HTTP_ACCEPT="application/json",
        )
        assert confirmed.status_code == 201
        photo = Photo.objects.get()
        assert (photo.member, photo.uploaded_by) == (assignment.member, "crew")
        page = member_client.get(url("event", assignment.booking_id)).content.decode()
        assert "/uploads/photo/" in page

    def test_grant_refuses_a_non_image_with_a_sentence(self, member_client, assignment):
        response = member_client.post(
            url("photo_grant", assignment.booking_id),
            {"filename": "x.pdf", "content_type": "application/pdf", "size": 10},
        )
        assert response.status_code == 400
        assert "Only photos" in response.json()["error"]

    def test_confirm_refuses_another_bookings_key(self, member_client, assignment):
        other = factories.BookingFactory()
        response = member_client.post(
            url("photo_confirm", assignment.booking_id),
            {"key": f"photos/{other.pk}/crew/m{assignment.member.pk}-x.jpg"},
        )
        assert response.status_code == 400
        assert not Photo.objects.exists()

    def test_without_javascript_the_form_uploads_through_the_app(self, member_client, assignment):
        response = member_client.post(
            url("photo_upload", assignment.booking_id),
            {
                "photos": [
                    SimpleUploadedFile("a.jpg", JPEG, "image/jpeg"),
                    SimpleUploadedFile("b.txt", b"hello", "text/plain"),
                ]
            },
            follow=True,
        )
        body = response.content.decode()
        assert "1 photo(s) uploaded." in body
        assert "b.txt: Only photos" in body
        photo = Photo.objects.get()
        assert photo.key.startswith(f"photos/{assignment.booking_id}/crew/m{assignment.member.pk}-")


class TestExpenses:
    def test_mileage_preview_shows_the_amount_and_saves_nothing(
        self, member_client, assignment, settings
    ):
        settings.CHARTEROPS_MILEAGE_RATE = "0.70"
        response = member_client.post(
            url("expense_create", assignment.booking_id),
            {"kind": "mileage", "miles": "42.5", "preview": "1"},
        )
        assert response.status_code == 200
        assert "$29.75" in response.content.decode()  # 42.5 × 0.70
        assert not Expense.objects.exists()

    def test_mileage_is_saved_at_the_rate(self, member_client, assignment, settings):
        settings.CHARTEROPS_MILEAGE_RATE = "0.70"
        response = member_client.post(
            url("expense_create", assignment.booking_id), {"kind": "mileage", "miles": "42.5"}
        )
        assert response.status_code == 302
        expense = Expense.objects.get()
        assert (expense.member, expense.miles, expense.amount) == (
            assignment.member,
            Decimal("42.5"),
            Decimal("29.75"),
        )

    @pytest.mark.parametrize(
        ("data", "field_error"),
        [
            ({"kind": "supplies", "amount": "-12"}, "The amount must be more than zero."),
            ({"kind": "supplies", "amount": "twelve"}, "Enter a number."),
            ({"kind": "supplies", "amount": "12.345"}, "two decimals at most"),
            ({"kind": "supplies", "amount": "250000"}, "check the number"),
            ({"kind": "mileage", "miles": "4200"}, "4200 miles is more than 500"),
            ({"kind": "mileage", "miles": "-3"}, "Miles must be more than zero."),
            ({"kind": "mileage", "miles": "far"}, "Enter a number."),
            ({"kind": "mileage", "miles": ""}, "Enter the miles driven."),
            ({"kind": "other", "amount": "NaN"}, "Enter a number."),
            ({"kind": "bribes", "amount": "5"}, "Select a valid choice."),
        ],
    )
    def test_invalid_input_gets_a_form_error_and_saves_nothing(
        self, member_client, assignment, data, field_error
    ):
        response = member_client.post(url("expense_create", assignment.booking_id), data)
        assert response.status_code == 400
        assert field_error in response.content.decode()
        assert not Expense.objects.exists()

    def test_tips_are_split_equally_among_the_crew_on_board_by_default(
        self, member_client, assignment
    ):
        mate = factories.CrewAssignmentFactory(booking=assignment.booking, response="accepted")
        factories.CrewAssignmentFactory(booking=assignment.booking, response="declined")
        member_client.post(
            url("expense_create", assignment.booking_id), {"kind": "tips", "amount": "100.00"}
        )
        tips = Expense.objects.get()
        assert tips.split == {
            str(assignment.member_id): "50.00",
            str(mate.member_id): "50.00",
        }

    def test_tips_custom_shares_must_add_up(self, member_client, assignment):
        mate = factories.CrewAssignmentFactory(booking=assignment.booking)
        base = {"kind": "tips", "amount": "90", "split_mode": "custom"}
        wrong = {**base, f"share_{assignment.member_id}": "60", f"share_{mate.member_id}": "20"}
        response = member_client.post(url("expense_create", assignment.booking_id), wrong)
        assert response.status_code == 400
        assert "The shares add up to $80.00, not $90.00." in response.content.decode()
        right = {**wrong, f"share_{mate.member_id}": "30"}
        assert (
            member_client.post(url("expense_create", assignment.booking_id), right).status_code
            == 302
        )
        assert Expense.objects.get().split == {
            str(assignment.member_id): "60.00",
            str(mate.member_id): "30.00",
        }

    def test_member_edits_own_entry_until_it_is_approved(
        self, member_client, assignment, staff_user
    ):
        from crew.expenses import expense_approve

        expense = factories.ExpenseFactory(booking=assignment.booking, member=assignment.member)
        edit = url("expense_edit", assignment.booking_id, expense.pk)
        assert member_client.get(edit).status_code == 200
        response = member_client.post(edit, {"kind": "supplies", "amount": "31.50", "note": "Ice"})
        assert response.status_code == 302
        expense.refresh_from_db()
        assert (expense.amount, expense.note) == (Decimal("31.50"), "Ice")
        expense_approve(expense, actor=staff_user)
        response = member_client.post(edit, {"kind": "supplies", "amount": "99"})
        assert response.status_code == 302  # sent back to the page with a message
        expense.refresh_from_db()
        assert expense.amount == Decimal("31.50")
        delete = url("expense_delete", assignment.booking_id, expense.pk)
        assert member_client.post(delete).status_code == 302
        assert Expense.objects.filter(pk=expense.pk).exists()

    def test_another_members_entry_is_not_found(self, member_client, assignment):
        mate = factories.CrewAssignmentFactory(booking=assignment.booking)
        theirs = factories.ExpenseFactory(booking=assignment.booking, member=mate.member)
        edit = url("expense_edit", assignment.booking_id, theirs.pk)
        assert member_client.get(edit).status_code == 404
        assert member_client.post(edit, {"kind": "supplies", "amount": "1"}).status_code == 404
        delete = url("expense_delete", assignment.booking_id, theirs.pk)
        assert member_client.post(delete).status_code == 404
        assert Expense.objects.get(pk=theirs.pk).amount == Decimal("25.00")

    def test_own_entry_reached_through_another_charter_is_refused(self, member_client, assignment):
        elsewhere = factories.CrewAssignmentFactory(member=assignment.member)
        mine = factories.ExpenseFactory(booking=elsewhere.booking, member=assignment.member)
        # The session only opens the charter whose link was followed.
        assert (
            member_client.get(url("expense_edit", elsewhere.booking_id, mine.pk)).status_code == 403
        )
        assert (
            member_client.get(url("expense_edit", assignment.booking_id, mine.pk)).status_code
            == 404
        )

    def test_receipt_sent_with_the_form_is_stored_as_a_photo(self, member_client, assignment):
        response = member_client.post(
            url("expense_create", assignment.booking_id),
            {
                "kind": "supplies",
                "amount": "18.20",
                "note": "Ice and water",
                "receipt": SimpleUploadedFile("receipt.jpg", JPEG, "image/jpeg"),
            },
        )
        assert response.status_code == 302
        expense = Expense.objects.get()
        assert expense.receipt_key == Photo.objects.get().key

    def test_a_receipt_key_of_someone_else_is_refused(self, member_client, assignment):
        mate = factories.CrewAssignmentFactory(booking=assignment.booking)
        theirs = factories.PhotoFactory(booking=assignment.booking, member=mate.member)
        response = member_client.post(
            url("expense_create", assignment.booking_id),
            {"kind": "supplies", "amount": "5", "receipt_key": theirs.key},
        )
        assert response.status_code == 400
        assert "not one of yours" in response.content.decode()


class TestUpcomingCharters:
    def test_lists_only_the_members_upcoming_charters_with_links_that_open(
        self, member_client, client, assignment
    ):
        later = factories.CrewAssignmentFactory(member=assignment.member)
        later.booking.start += timedelta(days=3)
        later.booking.end += timedelta(days=3)
        later.booking.save()
        factories.CrewAssignmentFactory()  # someone else's
        cancelled = factories.CrewAssignmentFactory(
            member=assignment.member, booking__status="cancelled"
        )
        response = member_client.get(url("charters", assignment.booking_id))
        rows = response.context["rows"]
        assert [a.pk for a, _ in rows] == [assignment.pk, later.pk]
        assert cancelled.pk not in [a.pk for a, _ in rows]
        link = {a.pk: link for a, link in rows}[later.pk]
        assert link.startswith(f"/crew/events/{later.booking_id}/?sesame=")
        opened = member_client.get(link, follow=True)
        assert opened.status_code == 200
        assert later.booking.guest_name in opened.content.decode()


class TestCancelledCharter:
    def test_page_says_cancelled_and_offers_no_changes(self, member_client, assignment):
        checklist(assignment.booking, pre=1)
        from bookings.models import Booking

        Booking.objects.filter(pk=assignment.booking_id).update(status="cancelled")
        body = member_client.get(url("event", assignment.booking_id)).content.decode()
        assert "CANCELLED" in body and "This charter was cancelled." in body
        assert "Accept</button>" not in body
        assert url("expense_create", assignment.booking_id) not in body
        assert url("photo_upload", assignment.booking_id) not in body
        response = member_client.post(
            url("expense_create", assignment.booking_id), {"kind": "supplies", "amount": "5"}
        )
        assert response.status_code == 302
        assert not Expense.objects.exists()
