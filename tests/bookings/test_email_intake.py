"""Email intake end to end: stored raw first, deduplicated, parsed into proposals, applied
through the one upsert (stale rules included), auto-applied only when authentic."""

from __future__ import annotations

import mailbox
from datetime import datetime, timedelta
from email.message import EmailMessage
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from bookings.intake.mail.models import InboundEmail
from bookings.intake.mail.proposals import (
    ProposalClosed,
    inbound_email_process,
    proposal_apply,
    proposal_diff,
    proposal_dismiss,
)
from bookings.intake.mail.sources import inbound_email_receive, mail_import
from bookings.intake.mail.store import inbound_email_store
from bookings.models import Booking
from bookings.tasks import inbound_emails_unread_process_task
from charterops.models import AuditEvent, TargetState
from tests.bookings.email_support import MAIL, eml

pytestmark = pytest.mark.django_db
Status = InboundEmail.Status


def receive(name: str, **kwargs):
    return inbound_email_receive(eml(name), via="import", label=name, **kwargs)


def test_a_message_is_stored_raw_with_its_envelope_before_it_is_read(queen):
    raw = eml("boatsetter__confirmed__both_parts")
    stored = inbound_email_store(raw, via="import", envelope={"file": "x.eml"})

    email = stored.email
    assert stored.created
    assert bytes(email.raw) == raw and email.size == len(raw)
    assert email.status == Status.RECEIVED
    assert email.message_id == "<conf.4839215.1736611367@boatsetter.com>"
    assert email.from_address == "notifications@boatsetter.com"
    assert email.sender_domain == "boatsetter.com"
    assert (email.dkim, email.spf, email.dmarc) == ("pass", "pass", "pass")
    assert email.envelope["file"] == "x.eml"
    assert ["X-Mailer", "SendGrid"] in email.headers
    assert email.sent_at.isoformat() == "2027-01-11T16:02:47+00:00"


def test_the_same_message_twice_is_stored_once_even_with_other_transit_headers(queen):
    raw = eml("boatsetter__confirmed__both_parts")
    # another relay's Received header, and LF line endings as a file export writes them
    relayed = b"Received: from relay.example (relay.example [192.0.2.1])\n" + raw.replace(
        b"\r\n", b"\n"
    )
    first = inbound_email_store(raw, via="import")
    second = inbound_email_store(relayed, via="imap")

    assert not second.created and second.email.pk == first.email.pk
    assert InboundEmail.objects.count() == 1
    assert InboundEmail.objects.get().times_seen == 2


def test_a_reused_message_id_with_other_content_is_a_second_message(queen):
    raw = eml("boatsetter__confirmed__both_parts")
    inbound_email_store(raw, via="import")
    inbound_email_store(raw.replace(b"Guests: 6", b"Guests: 7"), via="import")

    assert InboundEmail.objects.count() == 2


def test_a_confirmation_becomes_a_proposal_and_nothing_changes_until_applied(queen):
    received = receive("boatsetter__confirmed__both_parts")

    email = received.email
    assert email.status == Status.PROPOSED
    assert (email.marketplace, email.event, email.external_id) == (
        "boatsetter",
        "confirmed",
        "BS-4839215",
    )
    assert email.authenticated and email.problems == []
    assert not Booking.objects.exists()
    assert received.line() == (
        f"boatsetter__confirmed__both_parts: stored #{email.pk}, proposal for booking "
        "BS-4839215 [boatsetter confirmed]"
    )


def test_applying_goes_through_the_one_upsert_and_fans_out(
    queen, staff_user, django_capture_on_commit_callbacks
):
    email = receive("boatsetter__confirmed__both_parts").email

    with django_capture_on_commit_callbacks(execute=True):
        applied = proposal_apply(email, actor=staff_user)

    booking = Booking.objects.get(source="boatsetter", external_id="BS-4839215")
    assert (applied.outcome, applied.booking_outcome) == ("applied", "created")
    assert booking.status == "confirmed" and booking.boat == queen
    assert booking.guest_phone == "+16195550142"
    assert str(booking.owner_payout) == "1055.00"
    assert booking.last_event_id == email.message_id
    email.refresh_from_db()
    assert email.booking == booking and email.decided_by == staff_user
    assert set(TargetState.objects.filter(booking=booking).values_list("target", flat=True)) == {
        "calendar",
        "crew",
        "checklist",
        "guest_page",
        "guest_notify",
    }
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "bookings.booking.created" in actions
    assert "bookings.inbound_email.applied" in actions
    with pytest.raises(ProposalClosed):
        proposal_apply(email, actor=staff_user)


def test_a_changed_time_then_a_cancellation_move_and_cancel_the_booking(queen, staff_user):
    for name in ("boatsetter__confirmed__both_parts", "boatsetter__changed__new_time"):
        proposal_apply(receive(name).email, actor=staff_user)
    booking = Booking.objects.get()
    assert booking.local_start.hour == 13

    cancelled = receive("boatsetter__cancelled__by_renter").email
    booking_row, rows = proposal_diff(cancelled)
    assert booking_row == booking
    assert [r.field for r in rows if r.changed] == ["status"]
    proposal_apply(cancelled, actor=staff_user)
    booking.refresh_from_db()
    assert booking.status == "cancelled"


def test_an_older_email_applied_after_a_newer_one_is_stale(queen, staff_user):
    newer = receive("boatsetter__changed__new_time").email
    older = receive("boatsetter__confirmed__both_parts").email
    proposal_apply(newer, actor=staff_user)

    result = proposal_apply(older, actor=staff_user)

    assert result.outcome == Status.STALE
    assert Booking.objects.get().local_start.hour == 13


def test_an_old_confirmation_forwarded_after_the_change_is_ordered_by_its_original(
    queen, staff_user
):
    proposal_apply(receive("boatsetter__changed__new_time").email, actor=staff_user)
    # forwarded on Jan 11 18:20 UTC, but quoting the original of Jan 11 08:02 Pacific
    forwarded = receive("boatsetter__confirmed__forwarded").email
    assert forwarded.occurred_at == datetime.fromisoformat("2027-01-11T08:02:00-08:00")
    assert forwarded.sent_at == datetime.fromisoformat("2027-01-11T18:20:00+00:00")

    assert proposal_apply(forwarded, actor=staff_user).outcome == Status.STALE
    assert Booking.objects.get().local_start.hour == 13


def test_a_request_then_its_expiry(queen, staff_user):
    proposal_apply(receive("boatsetter__request__expires").email, actor=staff_user)
    assert Booking.objects.get().status == "pending"
    # the email's "Respond by" is the booking's deadline, not 72 h from when we read it
    assert Booking.objects.get().respond_by == datetime.fromisoformat("2027-01-13T10:00-08:00")
    proposal_apply(receive("boatsetter__expired__no_answer").email, actor=staff_user)
    assert Booking.objects.get().status == "expired"


def test_the_diff_shows_a_new_booking_field_by_field(queen):
    email = receive("boatsetter__confirmed__both_parts").email
    booking, rows = proposal_diff(email)

    assert booking is None
    proposed = {r.field: r.proposed for r in rows}
    assert proposed["guest_name"] == "Ana Ruiz" and proposed["party_size"] == 6
    assert all(r.current is None for r in rows)


def test_dismissing_closes_a_proposal_once(queen, staff_user):
    email = receive("boatsetter__confirmed__both_parts").email

    assert proposal_dismiss(email, actor=staff_user)
    assert not proposal_dismiss(email, actor=staff_user)
    email.refresh_from_db()
    assert email.status == Status.DISMISSED
    assert AuditEvent.objects.filter(action="bookings.inbound_email.dismissed").count() == 1


def test_an_unknown_boat_leaves_the_message_unparsed_with_what_was_found(db):
    email = receive("boatsetter__confirmed__both_parts").email

    assert email.status == Status.UNPARSED
    assert email.found["boat"] == "Queen of San Diego"
    assert any("unknown boat" in p for p in email.problems)


# --- Auto-apply: only complete, authenticated mail of a marketplace that allows it ----------


@pytest.fixture
def auto_apply(settings):
    settings.CHARTEROPS_MAIL_AUTO_APPLY = ["boatsetter", "getmyboat"]


def test_auto_apply_applies_authenticated_complete_mail(queen, auto_apply):
    received = receive("boatsetter__confirmed__both_parts")

    assert received.email.status == Status.APPLIED
    assert received.line().endswith("applied to booking BS-4839215 [boatsetter confirmed]")
    assert Booking.objects.get().external_id == "BS-4839215"


def test_auto_apply_is_off_unless_the_marketplace_is_listed(queen):
    assert receive("boatsetter__confirmed__both_parts").email.status == Status.PROPOSED


@pytest.mark.parametrize(
    ("name", "status", "problem"),
    [
        ("boatsetter__confirmed__spoofed_sender", Status.PROPOSED, "not authenticated"),
        ("boatsetter__confirmed__dkim_failed", Status.PROPOSED, "not authenticated"),
        ("boatsetter__confirmed__forwarded", Status.PROPOSED, "not authenticated"),
        ("boatsetter__confirmed__reply_above", Status.PROPOSED, "not authenticated"),
        ("boatsetter__confirmed__html_only", Status.PROPOSED, "not authenticated"),
        ("boatsetter__unknown__new_layout", Status.UNPARSED, "booking id"),
        ("boatsetter__confirmed__truncated_mime", Status.UNPARSED, "damaged or truncated"),
    ],
)
def test_suspicious_or_broken_mail_is_stored_and_never_auto_applied(
    queen, auto_apply, name, status, problem
):
    email = receive(name).email

    assert email.pk and email.size > 0
    assert email.status == status
    assert not email.authenticated or status == Status.UNPARSED
    assert any(problem in p for p in email.problems), email.problems
    assert not Booking.objects.exists()


def test_a_20_mb_attachment_is_stored_whole_and_not_auto_applied(queen, auto_apply):
    message = EmailMessage()
    message["From"] = "Boatsetter <notifications@boatsetter.com>"
    message["Subject"] = "Booking confirmed: Ana Ruiz"
    message["Message-ID"] = "<big@boatsetter.com>"
    message["Date"] = "Mon, 11 Jan 2027 16:02:47 +0000"
    message.set_content((MAIL / "boatsetter__confirmed__both_parts.eml").read_text())
    message.add_attachment(b"\x89PNG" + b"\0" * (20 * 1024 * 1024), maintype="image",
                           subtype="png", filename="dock.png")  # fmt: skip
    raw = message.as_bytes()

    received = inbound_email_receive(raw, via="import", label="big")

    email = InboundEmail.objects.get(pk=received.email.pk)
    assert email.size == len(raw) > 20 * 1024 * 1024
    assert bytes(email.raw) == raw
    assert email.status == Status.PROPOSED and not email.authenticated
    assert not Booking.objects.exists()


def test_mail_from_no_marketplace_is_unparsed_on_the_attention_list(db):
    raw = (
        b"From: Aunt May <may@example.org>\r\nSubject: Sailing?\r\nMessage-ID: <m@x>\r\n\r\nHi\r\n"
    )
    email = inbound_email_receive(raw, via="import", label="may").email

    assert email.status == Status.UNPARSED and email.needs_attention
    assert email.problems == ["no marketplace parser recognises this message"]


def test_garbage_is_stored_and_unparsed(db):
    email = inbound_email_receive(b"\xff\xfe\x00 not mail at all", via="import", label="x").email

    assert email.status == Status.UNPARSED
    assert bytes(email.raw) == b"\xff\xfe\x00 not mail at all"


def test_processing_twice_changes_nothing(queen):
    email = receive("boatsetter__confirmed__both_parts").email
    before = AuditEvent.objects.count()

    assert inbound_email_process(email).outcome == Status.PROPOSED
    assert AuditEvent.objects.count() == before


def test_getmyboat_is_a_built_in_source_so_its_mail_proposes_with_nothing_set(queen, settings):
    settings.CHARTEROPS_INTAKE_SOURCES = []
    email = inbound_email_receive(
        eml("getmyboat__request__inquiry"), via="import", label="gmb"
    ).email
    assert email.status == Status.PROPOSED and email.external_id == "GMB-2207841"
    assert email.marketplace == "getmyboat" and not email.problems


# --- mail_import --------------------------------------------------------------------------


def make_mbox(path, names):
    box = mailbox.mbox(str(path))
    for name in names:
        box.add(eml(name))
    box.flush()
    box.close()
    return path


def test_mail_import_prints_one_line_per_message_and_reimporting_changes_nothing(queen, tmp_path):
    names = [
        "boatsetter__request__expires",
        "boatsetter__confirmed__both_parts",
        "boatsetter__unknown__new_layout",
        "boatsetter__confirmed__both_parts",
    ]
    path = make_mbox(tmp_path / "export.mbox", names)
    out = StringIO()
    call_command("mail_import", str(path), stdout=out)

    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("export.mbox#1: stored #")
    assert "proposal for booking BS-4839215 [boatsetter request]" in lines[0]
    assert "unparsed [boatsetter ]" in lines[2]
    assert lines[3].startswith("export.mbox#4: duplicate of message #")

    snapshot = list(InboundEmail.objects.order_by("pk").values("pk", "status", "times_seen"))
    audits = AuditEvent.objects.count()
    again = StringIO()
    call_command("mail_import", str(path), stdout=again)

    assert all("duplicate of message" in line for line in again.getvalue().splitlines())
    after = list(InboundEmail.objects.order_by("pk").values("pk", "status"))
    assert after == [{"pk": s["pk"], "status": s["status"]} for s in snapshot]
    assert AuditEvent.objects.count() == audits
    assert not Booking.objects.exists()


def test_mail_import_reads_eml_files(queen, tmp_path):
    out = StringIO()
    call_command("mail_import", str(MAIL / "boatsetter__changed__new_time.eml"), stdout=out)

    assert "proposal for booking BS-4839215 [boatsetter changed]" in out.getvalue()
    assert mail_import(MAIL / "boatsetter__changed__new_time.eml")[0].duplicate


def test_the_newcomers_demo_import_a_fixture_apply_it_and_see_it_fan_out(
    monkeypatch, django_capture_on_commit_callbacks, superuser_client
):
    """README: `manage.py mail_import <fixture>` in the demo, Apply in the admin, fan-out done."""
    monkeypatch.setenv("CHARTEROPS_DEMO_PASSWORD", "sail-away-42")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", stdout=StringIO())
    out = StringIO()
    call_command("mail_import", str(MAIL / "boatsetter__confirmed__both_parts.eml"), stdout=out)
    email = InboundEmail.objects.get()
    assert "proposal for booking BS-4839215" in out.getvalue()

    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(f"/admin/bookings/inboundemail/{email.pk}/apply/")

    assert response.status_code == 302
    booking = Booking.objects.get(source="boatsetter", external_id="BS-4839215")
    states = dict(TargetState.objects.filter(booking=booking).values_list("target", "status"))
    assert states == {
        "calendar": "done",
        "crew": "done",
        "checklist": "done",
        "guest_page": "done",
        "guest_notify": "done",
    }


def test_nul_and_odd_bytes_in_a_message_are_stored_and_readable(queen):
    raw = eml("boatsetter__unknown__new_layout").replace(
        b"Hi Captain!", b"Listing: Queen\x00 of San Diego\r\nGuests: \xff\xfe6"
    )
    email = inbound_email_receive(raw, via="import", label="nul").email

    assert email.status == Status.UNPARSED
    assert "\x00" not in str(email.found)


def test_beats_backstop_reads_a_message_stored_but_left_unread(queen):
    stored = inbound_email_store(eml("boatsetter__confirmed__both_parts"), via="ses").email
    assert inbound_emails_unread_process_task() == 0  # too fresh: its door is still at it
    InboundEmail.objects.filter(pk=stored.pk).update(
        received_at=timezone.now() - timedelta(minutes=5)
    )

    assert inbound_emails_unread_process_task() == 1
    assert InboundEmail.objects.get().status == Status.PROPOSED
    assert inbound_emails_unread_process_task() == 0
