"""Magic links: one member, one charter, expiring, revocable, never logged, refused with no data."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.utils import timezone
from sesame.utils import get_query_string

from charterops.models import AuditEvent
from crew.magic_links import (
    crew_link_expires_at,
    crew_magic_link,
    magic_links_revoke_for_booking,
    magic_links_revoke_for_member,
)
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.crew.magic_link_urls")]


def _path(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


@pytest.fixture
def assignment():
    return factories.CrewAssignmentFactory(
        member__name="Ana Reyes", booking__meeting_point="Dock C, slip 12"
    )


def assert_refused(response, reason: str) -> None:
    assert response.status_code == 403
    body = response.content.decode()
    assert f'data-refusal="{reason}"' in body
    assert "Dock C" not in body and "Ana Reyes" not in body and " for Ana" not in body


def test_link_has_the_seed_shape_and_the_booking_id(assignment, settings):
    link = crew_magic_link(assignment)
    assert link.startswith(f"{settings.SITE_URL}/crew/events/{assignment.booking_id}/?sesame=")


def test_valid_link_logs_in_drops_the_token_and_lands_on_the_charter(client, assignment):
    response = client.get(_path(crew_magic_link(assignment)))
    assert response.status_code == 302
    assert response["Location"] == f"/crew/events/{assignment.booking_id}/"
    assert "no-store" in response["Cache-Control"]

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page.content.decode() == (
        f"charter {assignment.booking_id} for Ana Reyes as Deckhand at Dock C, slip 12"
    )
    assert int(client.session["_auth_user_id"]) == assignment.member.user_id


def test_session_opens_only_the_charter_it_was_granted_for(client, assignment):
    other = factories.CrewAssignmentFactory(member=assignment.member)
    client.get(_path(crew_magic_link(assignment)))

    assert client.get(f"/crew/events/{assignment.booking_id}/").status_code == 200
    assert_refused(client.get(f"/crew/events/{other.booking_id}/"), "missing")


def test_link_of_another_charter_at_this_charters_url_is_refused_as_altered(client, assignment):
    """Telling which of the member's charters a genuine link is for would cost a signature
    check per charter; the refusal costs no more than a valid check, so it says "altered"."""
    other = factories.CrewAssignmentFactory(member=assignment.member)
    link = crew_magic_link(other).replace(
        f"/crew/events/{other.booking_id}/", f"/crew/events/{assignment.booking_id}/"
    )
    assert_refused(client.get(_path(link)), "tampered")
    assert "_auth_user_id" not in client.session


def test_refusing_a_forged_token_costs_no_more_than_checking_a_valid_one(
    client, assignment, monkeypatch
):
    """A member on many charters: the refusal diagnosis probes none of them (no extra HMACs)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from sesame import tokens_v2

    for _ in range(30):
        factories.CrewAssignmentFactory(member=assignment.member)
    signs = []
    real_sign = tokens_v2.sign
    monkeypatch.setattr(tokens_v2, "sign", lambda *a, **k: signs.append(1) or real_sign(*a, **k))
    link = _path(crew_magic_link(assignment))
    signs.clear()

    def cost(path: str) -> tuple[int, int]:
        signs.clear()
        client.logout()
        with CaptureQueriesContext(connection) as queries:
            client.get(path)
        return len(signs), len(queries)

    valid_signs, valid_queries = cost(link)
    token = link.rsplit("=", 1)[1]
    forged = link.replace(token, token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:])
    forged_signs, forged_queries = cost(forged)
    assert valid_signs == 1
    assert forged_signs <= valid_signs
    assert forged_queries <= valid_queries


def test_link_to_a_charter_the_member_is_not_on_is_refused(client, assignment):
    stranger_booking = factories.BookingFactory(meeting_point="Dock C, slip 12")
    link = crew_magic_link(assignment).replace(
        f"/crew/events/{assignment.booking_id}/", f"/crew/events/{stranger_booking.pk}/"
    )
    assert_refused(client.get(_path(link)), "wrong_charter")


@pytest.mark.parametrize("mangle", ["flip", "truncate", "garbage"])
def test_tampered_link_is_refused(client, assignment, mangle):
    link = crew_magic_link(assignment)
    token = link.rsplit("=", 1)[1]
    if mangle == "flip":
        bad = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    elif mangle == "truncate":
        bad = token[:-6]
    else:
        bad = "not-a-token"
    assert_refused(client.get(f"/crew/events/{assignment.booking_id}/?sesame={bad}"), "tampered")
    assert "_auth_user_id" not in client.session


def test_link_expires_a_week_after_the_charter_ends(client, assignment):
    link = _path(crew_magic_link(assignment))
    expires = crew_link_expires_at(assignment.booking)
    assert expires == assignment.booking.end + timedelta(days=7)

    with time_machine.travel(expires - timedelta(minutes=1), tick=False):
        assert client.get(link).status_code == 302
        assert client.get(f"/crew/events/{assignment.booking_id}/").status_code == 200
    with time_machine.travel(expires + timedelta(minutes=1), tick=False):
        assert_refused(client.get(f"/crew/events/{assignment.booking_id}/"), "expired")
        client.logout()
        assert_refused(client.get(link), "expired")


def test_link_older_than_sesame_max_age_is_refused_as_expired(client, assignment, settings):
    settings.SESAME_MAX_AGE = 60
    link = _path(crew_magic_link(assignment))
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
        assert_refused(client.get(link), "expired")


def test_revoking_a_members_links_refuses_links_and_open_sessions(client, assignment, staff_user):
    other = factories.CrewAssignmentFactory(member=assignment.member)
    link = _path(crew_magic_link(assignment))
    other_link = _path(crew_magic_link(other))
    client.get(link)

    assert magic_links_revoke_for_member(assignment.member, actor=staff_user) == 2

    assert_refused(client.get(f"/crew/events/{assignment.booking_id}/"), "revoked")
    assert_refused(client.get(link), "revoked")
    assert_refused(client.get(other_link), "revoked")
    assert AuditEvent.objects.filter(action="crew.magic_links.revoked", actor=staff_user).exists()
    assignment.refresh_from_db()
    fresh = _path(crew_magic_link(assignment))
    assert client.get(fresh).status_code == 302


def test_revoking_a_bookings_links_leaves_the_members_other_charters(client, assignment):
    other = factories.CrewAssignmentFactory(member=assignment.member)
    shipmate = factories.CrewAssignmentFactory(booking=assignment.booking)
    links = {a.pk: _path(crew_magic_link(a)) for a in (assignment, other, shipmate)}

    assert magic_links_revoke_for_booking(assignment.booking) == 2

    assert_refused(client.get(links[assignment.pk]), "revoked")
    assert_refused(client.get(links[shipmate.pk]), "revoked")
    assert client.get(links[other.pk]).status_code == 302


def test_link_of_a_member_removed_from_the_charter_is_refused_as_revoked(client, assignment):
    link = _path(crew_magic_link(assignment))
    factories.NotificationFactory(booking=assignment.booking, member=assignment.member)
    assignment.delete()
    assert_refused(client.get(link), "revoked")


def test_inactive_member_is_refused(client, assignment):
    link = _path(crew_magic_link(assignment))
    assignment.member.active = False
    assignment.member.save()
    assert_refused(client.get(link), "revoked")


def test_page_without_link_or_session_is_refused(client, assignment):
    assert_refused(client.get(f"/crew/events/{assignment.booking_id}/"), "missing")


def test_staff_session_does_not_open_crew_pages(client, assignment, staff_user):
    client.force_login(staff_user)
    assert_refused(client.get(f"/crew/events/{assignment.booking_id}/"), "missing")


def test_a_second_members_link_on_the_same_device_switches_user(client, assignment):
    shipmate = factories.CrewAssignmentFactory(booking=assignment.booking, member__name="Bo")
    client.get(_path(crew_magic_link(assignment)))
    client.get(_path(crew_magic_link(shipmate)))
    assert int(client.session["_auth_user_id"]) == shipmate.member.user_id
    assert "for Bo" in client.get(f"/crew/events/{assignment.booking_id}/").content.decode()


def test_token_is_never_logged(client, assignment, caplog):
    link = crew_magic_link(assignment)
    token = link.rsplit("=", 1)[1]
    with caplog.at_level(logging.DEBUG):
        client.get(_path(link))
        client.get(f"/crew/events/{assignment.booking_id}/?sesame={token[:-4]}")
        client.get(f"/crew/events/{assignment.booking_id + 999}/?sesame={token}")
    assert caplog.records, "refusals are logged (with a reason, not the token)"
    assert token[:-4] not in caplog.text


def test_valid_link_costs_a_handful_of_queries(client, assignment, django_assert_max_num_queries):
    link = _path(crew_magic_link(assignment))
    # assignment, user, then the session's create-and-save (with savepoints) on login
    with django_assert_max_num_queries(10):
        client.get(link)
    with django_assert_max_num_queries(4):
        assert client.get(f"/crew/events/{assignment.booking_id}/").status_code == 200


# --- Links sent before links carried their claims ----------------------------------------


def _legacy_link(assignment) -> str:
    """A link as this project sent them before: a bare sesame token, scoped to the assignment."""
    scope = f"crew:{assignment.booking_id}:{assignment.pk}:{assignment.link_generation}"
    return f"/crew/events/{assignment.booking_id}/{get_query_string(assignment.member.user, scope=scope)}"


def test_a_link_sent_before_the_new_shape_still_opens_its_charter(client, assignment):
    response = client.get(_legacy_link(assignment))
    assert response.status_code == 302
    assert response["Location"] == f"/crew/events/{assignment.booking_id}/"
    assert client.get(response["Location"]).status_code == 200


def test_an_old_link_falls_to_revocation_and_to_the_setting(client, assignment, settings):
    link = _legacy_link(assignment)
    magic_links_revoke_for_booking(assignment.booking)
    assert_refused(client.get(link), "tampered")

    settings.CHARTEROPS_CREW_LEGACY_LINKS = False
    assignment.refresh_from_db()
    assert_refused(client.get(_legacy_link(assignment)), "tampered")


def test_an_old_link_is_checked_against_this_charters_crew_only(client, assignment, monkeypatch):
    """The member's thirty other charters cost nothing: one signature per member aboard."""
    from sesame import tokens_v2

    for _ in range(30):
        factories.CrewAssignmentFactory(member=assignment.member)
    factories.CrewAssignmentFactory(booking=assignment.booking)  # a second member aboard
    signs = []
    real_sign = tokens_v2.sign
    monkeypatch.setattr(tokens_v2, "sign", lambda *a, **k: signs.append(1) or real_sign(*a, **k))
    forged = f"/crew/events/{assignment.booking_id}/?sesame=AAAAAQAAAAxforgedforgedforged"
    assert_refused(client.get(forged), "tampered")
    assert len(signs) <= 2
