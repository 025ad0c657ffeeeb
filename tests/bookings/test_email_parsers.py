"""Each recorded marketplace email parses to the event it is (no database)."""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.parser import BytesParser
from zoneinfo import ZoneInfo

import pytest

from bookings.intake.mail.authenticity import (
    authentic_for,
    domain_of,
    from_address,
    verdicts_from_headers,
    verdicts_from_ses,
)
from bookings.intake.mail.parsers import (
    message_parse,
    parse_date,
    parse_duration,
    parse_time,
)
from tests.bookings.email_support import MAIL, eml

PACIFIC = ZoneInfo("America/Los_Angeles")


def parse(name: str):
    message = BytesParser(policy=policy.default).parsebytes(eml(name))
    return message_parse(message, sender_domain=domain_of(from_address(message)))


def test_every_fixture_is_named_marketplace_event_variant():
    names = sorted(p.stem for p in MAIL.glob("*.eml"))
    assert len(names) >= 15
    for name in names:
        marketplace, event, variant = name.split("__")
        assert marketplace in {"boatsetter", "getmyboat"} and event and variant


# (fixture, event, id, start (local), hours, guest, party, payout)
EXPECTED = [
    ("boatsetter__request__expires", "request", "BS-4839215", (2027, 1, 16, 10, 0), 4, "Ana R.", 6, "1055.00"),
    ("boatsetter__expired__no_answer", "expired", "BS-4839215", (2027, 1, 16, 10, 0), 4, "Ana R.", 6, "1055.00"),
    ("boatsetter__confirmed__both_parts", "confirmed", "BS-4839215", (2027, 1, 16, 10, 0), 4, "Ana Ruiz", 6, "1055.00"),
    ("boatsetter__confirmed__html_only", "confirmed", "BS-4839377", (2027, 1, 17, 14, 30), 3, "Renée Dubois", 4, "1055.00"),
    ("boatsetter__confirmed__forwarded", "confirmed", "BS-4839215", (2027, 1, 16, 10, 0), 4, "Ana Ruiz", 6, "1055.00"),
    ("boatsetter__confirmed__reply_above", "confirmed", "BS-4839215", (2027, 1, 16, 10, 0), 4, "Ana Ruiz", 6, "1055.00"),
    ("boatsetter__changed__new_time", "changed", "BS-4839215", (2027, 1, 16, 13, 0), 4, "Ana Ruiz", 6, "1055.00"),
    ("boatsetter__cancelled__by_renter", "cancelled", "BS-4839215", (2027, 1, 16, 13, 0), 4, "Ana Ruiz", 6, "1055.00"),
    ("getmyboat__request__inquiry", "request", "GMB-2207841", (2027, 2, 5, 17, 0), 3, "Jordan Lee", 8, "859.80"),
    ("getmyboat__confirmed__both_parts", "confirmed", "GMB-2207841", (2027, 2, 5, 17, 0), 3, "Jordan Lee", 8, "859.80"),
    ("getmyboat__cancelled__by_renter", "cancelled", "GMB-2207841", (2027, 2, 5, 17, 0), 3, "Jordan Lee", 8, "859.80"),
]  # fmt: skip
STATUS = {"request": "pending", "expired": "expired", "confirmed": "confirmed",
          "changed": "confirmed", "cancelled": "cancelled"}  # fmt: skip


@pytest.mark.parametrize(("name", "event", "booking_id", "start", "hours", "guest", "party", "payout"), EXPECTED)  # fmt: skip
def test_each_fixture_parses_to_its_event(
    name, event, booking_id, start, hours, guest, party, payout
):
    parsed = parse(name)

    assert parsed is not None and parsed.complete, parsed and parsed.problems
    assert parsed.event == event
    assert parsed.external_id == booking_id
    booking = parsed.booking
    assert booking["status"] == STATUS[event]
    assert booking["boat"]["name"] == "Queen of San Diego"
    begins = datetime.fromisoformat(booking["start"])
    assert begins == datetime(*start, tzinfo=PACIFIC)
    assert (datetime.fromisoformat(booking["end"]) - begins).total_seconds() == hours * 3600
    assert booking["guest"]["name"] == guest
    assert booking["party_size"] == party
    assert booking["pricing"]["owner_payout"] == payout
    assert booking["captain_required"] is True


def test_a_request_hides_the_guests_contact_and_says_when_it_expires():
    parsed = parse("boatsetter__request__expires")

    assert parsed.booking["guest"]["email"] == ""
    assert parsed.booking["guest"]["phone"] == ""
    assert parsed.found["expires"].startswith("January 13, 2027")
    assert parsed.booking["respond_by"] == "2027-01-13T10:00:00-08:00"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("January 13, 2027 10:00 AM PST", "2027-01-13T10:00:00-08:00"),
        # the night the clocks fall back: the abbreviation tells the two 1:30s apart
        ("Sun, Nov 1, 2026 1:30 AM PDT", "2026-11-01T01:30:00-07:00"),
        ("Sun, Nov 1, 2026 1:30 AM PST", "2026-11-01T01:30:00-08:00"),
        ("Jan 13 2027 at 10 AM", "2027-01-13T10:00:00-08:00"),  # no zone: the business's
        ("when you can", None),
    ],
)
def test_the_respond_by_deadline_reads_its_zone(text, expected):
    from bookings.intake.mail.parsers import parse_deadline

    found = parse_deadline(text)
    assert (found.isoformat() if found else None) == expected


def test_a_confirmation_carries_no_deadline():
    assert parse("boatsetter__confirmed__both_parts").booking["respond_by"] is None


def test_a_confirmation_carries_the_guests_contact_and_the_money():
    parsed = parse("boatsetter__confirmed__both_parts")

    assert parsed.booking["guest"] == {
        "name": "Ana Ruiz",
        "email": "ana.ruiz@example.com",
        "phone": "(619) 555-0142",
    }
    assert parsed.booking["pricing"] == {
        "currency": "USD",
        "boat_price": "950.00",
        "service_fee": "95.00",
        "captain_fee": "200.00",
        "owner_payout": "1055.00",
    }
    assert parsed.booking["meeting_point"] == "Harbor Island West Marina, dock C"


def test_a_changed_time_reads_the_new_time_not_the_previous_one():
    parsed = parse("boatsetter__changed__new_time")

    assert parsed.found["start_time"] == "1:00 PM"
    assert datetime.fromisoformat(parsed.booking["start"]).hour == 13


def test_an_unknown_layout_is_recognised_but_says_what_is_missing():
    parsed = parse("boatsetter__unknown__new_layout")

    assert parsed.marketplace.source == "boatsetter"
    assert not parsed.complete
    assert any(p.startswith("booking id") for p in parsed.problems)


def test_a_message_from_no_marketplace_is_not_parsed():
    raw = b"From: Aunt May <may@example.org>\r\nSubject: Sailing?\r\n\r\nFancy a trip on Saturday?\r\n"
    message = BytesParser(policy=policy.default).parsebytes(raw)

    assert message_parse(message, sender_domain="example.org") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Saturday, January 16, 2027", (2027, 1, 16)),
        ("Jan 16, 2027", (2027, 1, 16)),
        ("01/16/2027", (2027, 1, 16)),
        ("2027-01-16", (2027, 1, 16)),
        ("Sat, January 16th, 2027 at 10:00 AM", (2027, 1, 16)),
    ],
)
def test_dates_in_the_forms_marketplaces_write_them(text, expected):
    assert parse_date(text).timetuple()[:3] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10:00 AM", (10, 0)), ("2:30 pm", (14, 30)), ("12 PM", (12, 0)), ("12:15 a.m.", (0, 15)),
     ("17:45", (17, 45))],
)  # fmt: skip
def test_times(text, expected):
    parsed = parse_time(text)
    assert (parsed.hour, parsed.minute) == expected


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("4 hours", 240), ("3.5 hrs", 210), ("2 hours 30 minutes", 150), ("Half day (4 hours)", 240)],
)
def test_durations(text, minutes):
    assert parse_duration(text).total_seconds() == minutes * 60


def verdicts(name: str):
    return verdicts_from_headers(BytesParser(policy=policy.default).parsebytes(eml(name)))


def test_authenticity_passes_only_for_the_marketplaces_own_signed_mail():
    domains = ("boatsetter.com",)
    ok = verdicts("boatsetter__confirmed__both_parts")
    assert ok.dkim == "pass" and ok.dmarc == "pass" and ok.source == "mx.google.com"
    assert authentic_for(domains, sender_domain="boatsetter.com", verdicts=ok)
    spoofed = verdicts("boatsetter__confirmed__spoofed_sender")
    assert (spoofed.dkim, spoofed.spf, spoofed.dmarc) == ("none", "fail", "fail")
    assert not authentic_for(domains, sender_domain="boatsetter.com", verdicts=spoofed)
    assert not authentic_for(
        domains,
        sender_domain="boatsetter.com",
        verdicts=verdicts("boatsetter__confirmed__dkim_failed"),
    )
    # A forward passes for gmail.com, which is not Boatsetter.
    forwarded = verdicts("boatsetter__confirmed__forwarded")
    assert not authentic_for(domains, sender_domain="gmail.com", verdicts=forwarded)
    assert verdicts("boatsetter__confirmed__html_only").dkim == ""


def test_only_the_topmost_or_a_trusted_authentication_results_header_counts(settings):
    forged_below = (
        b"Authentication-Results: mx.google.com; dkim=fail header.i=@boatsetter.com; dmarc=fail\r\n"
        b"Authentication-Results: evil.example; dkim=pass header.i=@boatsetter.com; dmarc=pass\r\n"
        b"From: Boatsetter <notifications@boatsetter.com>\r\n\r\nhi\r\n"
    )
    message = BytesParser(policy=policy.default).parsebytes(forged_below)
    assert verdicts_from_headers(message).dmarc == "fail"
    settings.CHARTEROPS_MAIL_AUTHSERV_IDS = ["mx.example.net"]
    assert verdicts_from_headers(message).dmarc == ""


def test_ses_verdicts():
    receipt = {"dkimVerdict": {"status": "PASS"}, "spfVerdict": {"status": "PASS"},
               "dmarcVerdict": {"status": "FAIL"}}  # fmt: skip
    found = verdicts_from_ses(receipt)
    assert (found.dkim, found.spf, found.dmarc, found.source) == ("pass", "pass", "fail", "ses")
    assert authentic_for(("boatsetter.com",), sender_domain="boatsetter.com", verdicts=found)
