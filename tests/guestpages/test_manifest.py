"""The party's manifest and waivers: forms that work without JavaScript, hostile input, the
window and the limits, immutable signed documents, and the crew's self-ticking item."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.files.storage import storages
from django.utils import timezone

from bookings.services import booking_cancel, booking_update
from charterops.models import AuditEvent
from crew.checklist import ChecklistTarget, checklist_progress, checklist_scaffold
from crew.models import ChecklistItem
from guestpages.manifest import (
    ManifestRefused,
    manifest_entry_add,
    waiver_document,
    waiver_sign,
    waiver_text_current,
    waiver_text_publish,
)
from guestpages.models import GuestPage, Manifest, ManifestEntry, WaiverSignature, WaiverText
from tests import factories

pytestmark = pytest.mark.django_db
HOSTILE = '<script>alert("x")</script> Zoë O\'Brien & co'


@pytest.fixture
def page():
    booking = factories.BookingFactory(party_size=2)
    return GuestPage.objects.create(booking=booking)


def party_url(page) -> str:
    return f"/g/{page.page_id}/party"


def sign_url(page, entry) -> str:
    return f"/g/{page.page_id}/party/{entry.token}"


def adult(name: str) -> dict[str, str]:
    return {"age": "adult", "signed_name": name, "accept": "yes"}


# --- The party list ----------------------------------------------------------------------


def test_the_party_form_is_plain_html_with_labelled_fields(client, page):
    response = client.get(party_url(page))
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store" and response["X-Robots-Tag"]
    assert '<label for="id_full_name">' in html and 'id="id_full_name"' in html
    assert '<label for="id_name">' in html and '<label for="id_phone">' in html
    assert "<script" not in html  # works without JavaScript
    assert "0 of 2 named · 0 of 2 waivers signed" in html


def test_adding_names_up_to_the_party_size_then_a_sentence_and_the_value_kept(client, page):
    for name in ("Ana Ruiz", HOSTILE):
        assert client.post(party_url(page), {"form": "entry", "full_name": name}).status_code == 200
    html = client.get(party_url(page)).content.decode()
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html and "<script>alert" not in html
    )

    refused = client.post(party_url(page), {"form": "entry", "full_name": "Third Person"})
    assert refused.status_code == 400
    assert "Your party is 2, and 2 names are on the list already." in refused.content.decode()
    assert ManifestEntry.objects.filter(booking=page.booking).count() == 2
    assert AuditEvent.objects.filter(action="guestpages.manifest.entry_added").count() == 2


@pytest.mark.parametrize(
    ("name", "sentence"),
    [
        ("x" * 5000, "is 1000 characters long; please keep it to 100."),
        ("", "Please enter the full name."),
        ("Bad\x00Name", "contains characters we cannot keep"),
        ("Right\u202eto-left", "contains characters we cannot keep"),
    ],
)
def test_hostile_or_over_long_names_are_refused_with_a_sentence(client, page, name, sentence):
    response = client.post(party_url(page), {"form": "entry", "full_name": name})
    assert response.status_code == 400
    assert sentence in response.content.decode()
    assert not ManifestEntry.objects.exists()


def test_the_emergency_contact_is_kept_and_a_bad_phone_is_a_sentence(client, page):
    bad = client.post(party_url(page), {"form": "contact", "name": "Mia Ruiz", "phone": "call me"})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "does not look like a phone number" in html and 'value="call me"' in html
    ok = client.post(
        party_url(page), {"form": "contact", "name": "Mia Ruiz", "phone": "619 555 0142"}
    )
    assert ok.status_code == 200
    manifest = Manifest.objects.get(booking=page.booking)
    assert (manifest.emergency_name, manifest.emergency_phone) == ("Mia Ruiz", "+16195550142")


def test_the_party_page_costs_the_same_whatever_the_party(client, page):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(party_url(page)).status_code == 200
        return len(ctx.captured_queries)

    entry = manifest_entry_add(page.booking, full_name="Ana Ruiz")
    small = count()
    page.booking.party_size = 12
    page.booking.save()
    for n in range(10):
        e = manifest_entry_add(page.booking, full_name=f"Guest {n}")
        waiver_sign(e, signed_name=f"Guest {n}", over_18=True, accepted=True)
    waiver_sign(entry, signed_name="Ana Ruiz", over_18=True, accepted=True)
    large = count()
    assert small == large <= 4
    print(f"party page: {small} queries at 1 name, {large} at 11 names signed")


# --- The window, the origin, the limits, no enumeration ----------------------------------


def test_closed_outside_the_booking_window(client, page):
    booking = page.booking
    booking_cancel(booking)
    response = client.get(party_url(page))
    assert response.status_code == 403 and "cancelled" in response.content.decode()

    over = GuestPage.objects.create(
        booking=factories.BookingFactory(
            start=timezone.now() - timedelta(hours=5), end=timezone.now() - timedelta(hours=1)
        )
    )
    response = client.post(party_url(over), {"form": "entry", "full_name": "Late"})
    assert response.status_code == 403 and "is over" in response.content.decode()


def test_unknown_pages_and_tokens_are_404_and_a_token_is_bound_to_its_page(client, page):
    entry = manifest_entry_add(page.booking, full_name="Ana Ruiz")
    other = GuestPage.objects.create(booking=factories.BookingFactory())
    assert client.get("/g/doesnotexist00/party").status_code == 404
    assert client.get(f"/g/{page.page_id}/party/nosuchtoken00000").status_code == 404
    assert client.get(sign_url(other, entry)).status_code == 404  # another page's id
    assert client.get(sign_url(page, entry)).status_code == 200


def test_a_post_from_a_foreign_origin_is_refused_and_the_guest_origin_gets_cors(
    client, page, settings
):
    settings.CHARTEROPS_GUEST_PAGE_ORIGIN = "https://queenofsandiego.com"
    refused = client.post(
        party_url(page), {"form": "entry", "full_name": "Eve"}, HTTP_ORIGIN="https://evil.example"
    )
    assert refused.status_code == 403 and not ManifestEntry.objects.exists()
    ok = client.post(
        party_url(page),
        {"form": "entry", "full_name": "Ana"},
        HTTP_ORIGIN="https://queenofsandiego.com",
    )
    assert ok.status_code == 200
    assert ok["Access-Control-Allow-Origin"] == "https://queenofsandiego.com"


def test_posts_are_rate_limited_per_page(client, page, settings):
    settings.CHARTEROPS_GUEST_PHOTO_RATE_PER_PAGE = "3/m"
    statuses = [
        client.post(party_url(page), {"form": "entry", "full_name": ""}).status_code
        for _ in range(5)
    ]
    assert statuses == [400, 400, 400, 429, 429]


# --- Waivers -----------------------------------------------------------------------------


def test_an_adult_signs_and_the_document_is_kept_with_version_hash_time_and_address(client, page):
    entry = manifest_entry_add(page.booking, full_name="Ana Ruiz")
    form = client.get(sign_url(page, entry)).content.decode()
    text = waiver_text_current()
    assert text.version == 1 and "Version 1 · SHA-256" in form
    assert '<label for="id_signed_name">' in form

    response = client.post(
        sign_url(page, entry),
        adult("ana  ruiz"),
        REMOTE_ADDR="203.0.113.9",
        HTTP_USER_AGENT="Phone",
    )
    assert response.status_code == 200 and "Signed by ana ruiz" in response.content.decode()
    signature = WaiverSignature.objects.get()
    assert (signature.text_version, signature.text_sha256) == (1, text.sha256)
    assert signature.ip == "203.0.113.9" and signature.adult
    body = storages["default"].open(signature.document).read()
    assert hashlib.sha256(body).hexdigest() == signature.document_sha256
    assert text.sha256.encode() in body and b"203.0.113.9" in body
    assert waiver_document(signature) == body

    again = client.post(sign_url(page, entry), adult("Ana Ruiz"))
    assert again.status_code == 200 and WaiverSignature.objects.count() == 1
    assert AuditEvent.objects.filter(action="guestpages.waiver.signed").count() == 1


def test_a_minor_is_signed_for_by_a_parent(client, page):
    entry = manifest_entry_add(page.booking, full_name="Leo Ruiz")
    born = (timezone.localtime(page.booking.start) - timedelta(days=365 * 9)).date()
    missing = client.post(
        sign_url(page, entry),
        {
            "age": "minor",
            "signed_name": "Ana Ruiz",
            "date_of_birth": born.isoformat(),
            "accept": "yes",
        },
    )
    assert missing.status_code == 400
    html = missing.content.decode()
    assert "A parent or guardian signs for a minor: please enter their name." in html
    assert f'value="{born.isoformat()}"' in html and 'value="minor" checked' in html

    ok = client.post(
        sign_url(page, entry),
        {
            "age": "minor",
            "signed_name": "Ana Ruiz",
            "guardian_name": "Ana Ruiz",
            "date_of_birth": born.isoformat(),
            "accept": "yes",
        },
    )
    assert ok.status_code == 200
    signature = WaiverSignature.objects.get()
    assert not signature.adult and signature.guardian_name == "Ana Ruiz"


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        (
            {"age": "adult", "signed_name": "Someone Else", "accept": "yes"},
            "exactly as on the list",
        ),
        ({"age": "adult", "signed_name": "Ana Ruiz"}, "tick the box"),
        (
            {"age": "adult", "signed_name": "Ana Ruiz", "accept": "yes", "date_of_birth": "1-2-3"},
            "not a date we can read",
        ),
        (
            {
                "age": "adult",
                "signed_name": "Ana Ruiz",
                "accept": "yes",
                "date_of_birth": "2020-01-01",
            },
            "is under 18",
        ),
        ({"age": "adult", "signed_name": "A" * 300, "accept": "yes"}, "please keep it to 100"),
    ],
)
def test_a_refused_signature_is_a_sentence_with_status_400(client, page, data, sentence):
    entry = manifest_entry_add(page.booking, full_name="Ana Ruiz")
    response = client.post(sign_url(page, entry), data)
    assert response.status_code == 400 and sentence in response.content.decode()
    assert not WaiverSignature.objects.exists()


def test_a_new_waiver_version_never_changes_a_signed_one(page):
    entry = manifest_entry_add(page.booking, full_name="Ana Ruiz")
    signed = waiver_sign(entry, signed_name="Ana Ruiz", over_18=True, accepted=True)
    first = WaiverText.objects.get(version=1)
    second = waiver_text_publish(title=first.title, body=first.body + "\n\nNo glass aboard.")
    assert second.version == 2 and second.sha256 != first.sha256
    assert waiver_text_publish(title=second.title, body=second.body) == second  # unchanged
    signed.refresh_from_db()
    assert signed.text_version == 1 and signed.waiver_text == first
    other = manifest_entry_add(page.booking, full_name="Bo Ruiz")
    assert waiver_sign(other, signed_name="Bo Ruiz", over_18=True, accepted=True).text_version == 2
    with pytest.raises(ManifestRefused):
        waiver_sign(other, signed_name="Bo Ruiz", over_18=True, accepted=True)


def test_staff_add_a_waiver_version_in_the_admin_and_download_a_signed_waiver(
    superuser_client, page
):
    from django.urls import reverse

    entry = manifest_entry_add(page.booking, full_name="Ana Ruiz")
    signature = waiver_sign(entry, signed_name="Ana Ruiz", over_18=True, accepted=True)
    add = reverse("admin:guestpages_waivertext_add")
    assert "Release of liability" in superuser_client.get(add).content.decode()  # prefilled
    response = superuser_client.post(add, {"title": "Waiver", "body": "New terms."})
    assert response.status_code == 302
    assert list(WaiverText.objects.values_list("version", flat=True)) == [2, 1]

    booking_page = superuser_client.get(
        reverse("admin:bookings_booking_change", args=[page.booking_id])
    ).content.decode()
    url = reverse("admin:guestpages_waiversignature_download", args=[signature.pk])
    assert url in booking_page and "1/2 waivers signed" in booking_page
    download = superuser_client.get(url)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert hashlib.sha256(download.content).hexdigest() == signature.document_sha256


# --- The crew's side ---------------------------------------------------------------------


def test_all_waivers_signed_ticks_itself_and_unticks_when_the_party_grows(
    page, django_capture_on_commit_callbacks
):
    booking = page.booking
    template = factories.ChecklistTemplateFactory(boat=None, name="Default")
    factories.ChecklistTemplateItemFactory(template=template, text="Fuel", required=False)
    checklist_scaffold(booking)
    item = ChecklistItem.objects.get(booking=booking, auto_key="waivers_signed")
    assert item.text == "All waivers signed" and item.required and item.phase == "pre"
    assert not item.done and not checklist_progress(booking).ready

    for name in ("Ana Ruiz", "Bo Ruiz"):
        entry = manifest_entry_add(booking, full_name=name)
        with django_capture_on_commit_callbacks(execute=True):
            waiver_sign(entry, signed_name=name, over_18=True, accepted=True)
    item.refresh_from_db()
    assert item.done and item.note == "2/2 waivers signed"
    assert checklist_progress(booking).ready
    assert AuditEvent.objects.filter(action="crew.checklist_item.auto_completed").count() == 1

    booking_update(booking, party_size=3)
    booking.refresh_from_db()
    ChecklistTarget().sync(booking, state=None)
    item.refresh_from_db()
    assert not item.done and item.note == "2/3 waivers signed"


def test_the_crew_page_shows_the_party_and_the_waivers_against_the_party_size(client, page):
    from crew.magic_links import crew_magic_link

    booking = page.booking
    template = factories.ChecklistTemplateFactory(boat=None, name="Default")
    factories.ChecklistTemplateItemFactory(template=template, text="Fuel")
    checklist_scaffold(booking)
    assignment = factories.CrewAssignmentFactory(booking=booking, role="captain")
    entry = manifest_entry_add(booking, full_name=HOSTILE)
    manifest_entry_add(booking, full_name="Bo Ruiz")
    waiver_sign(entry, signed_name=HOSTILE, over_18=True, accepted=True)

    response = client.get(crew_magic_link(assignment), follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert "1/2 waivers signed" in html
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert "Bo Ruiz" in html and "not signed yet" in html
    assert "All waivers signed" in html and "Ticks itself" in html

    item = ChecklistItem.objects.get(booking=booking, auto_key="waivers_signed")
    tick = client.post(f"/crew/events/{booking.pk}/checklist/{item.pk}/", {"action": "done"})
    item.refresh_from_db()
    assert tick.status_code in (302, 400) and not item.done


# --- Races (real concurrent connections: the PostgreSQL pass) ----------------------------


def _race(n: int, work) -> tuple[list, list[BaseException]]:
    import threading

    from django.db import close_old_connections, connection

    start = threading.Barrier(n)
    results: list = []
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait()
            results.append(work(i))
        except ManifestRefused as exc:
            results.append(exc)
        except BaseException as exc:  # surfaced by the test
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_six_phones_adding_to_a_party_of_two_add_two_names():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections: runs on the PostgreSQL pass")
    booking = factories.BookingFactory(party_size=2)
    results, errors = _race(6, lambda i: manifest_entry_add(booking, full_name=f"Guest {i}"))
    assert not errors
    assert ManifestEntry.objects.filter(booking=booking).count() == 2
    assert sum(isinstance(r, ManifestRefused) for r in results) == 4


@pytest.mark.django_db(transaction=True)
def test_one_person_signing_on_two_phones_at_once_signs_once():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs real concurrent connections: runs on the PostgreSQL pass")
    booking = factories.BookingFactory(party_size=2)
    entry = manifest_entry_add(booking, full_name="Ana Ruiz")
    waiver_text_current()
    results, errors = _race(
        4, lambda i: waiver_sign(entry, signed_name="Ana Ruiz", over_18=True, accepted=True)
    )
    assert not errors, errors
    assert WaiverSignature.objects.filter(entry=entry).count() == 1
    assert sum(isinstance(r, WaiverSignature) for r in results) == 1
    (signature,) = WaiverSignature.objects.all()
    assert waiver_document(signature)  # the kept document is the recorded one


# --- Query budgets of the pages that list the party or the messages ----------------------


def _queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_the_crew_page_costs_the_same_with_a_party_of_one_or_twelve(client):
    from crew.magic_links import crew_magic_link

    booking = factories.BookingFactory(party_size=12)
    assignment = factories.CrewAssignmentFactory(booking=booking, role="captain")
    first = manifest_entry_add(booking, full_name="Ana Ruiz")
    waiver_sign(first, signed_name="Ana Ruiz", over_18=True, accepted=True)
    client.get(crew_magic_link(assignment))  # the member's link logs the client in
    page = f"/crew/events/{booking.pk}/"
    small = _queries(client, page)
    for n in range(11):
        entry = manifest_entry_add(booking, full_name=f"Guest {n}")
        waiver_sign(entry, signed_name=f"Guest {n}", over_18=True, accepted=True)
    large = _queries(client, page)
    assert small == large
    print(f"crew page: {small} queries with 1 of 12 named, {large} with 12 of 12 signed")


def test_staff_lists_of_messages_and_waivers_do_not_grow_with_the_table(superuser_client):
    from django.urls import reverse

    from guestpages.messages import booking_guest_notify

    def grow(n: int) -> None:
        for i in range(n):
            booking = factories.BookingFactory(party_size=1)
            booking_guest_notify(booking)
            entry = manifest_entry_add(booking, full_name=f"Guest {i}")
            waiver_sign(entry, signed_name=f"Guest {i}", over_18=True, accepted=True)

    lists = [
        reverse("admin:guestpages_guestmessage_changelist"),
        reverse("admin:guestpages_waiversignature_changelist"),
        reverse("admin:guestpages_waivertext_changelist"),
    ]
    grow(2)
    small = [_queries(superuser_client, url) for url in lists]
    grow(10)
    large = [_queries(superuser_client, url) for url in lists]
    assert small == large
    print(
        f"admin lists (messages, waivers, waiver texts): {small} queries at 2 rows, {large} at 12"
    )


def test_an_unsigned_name_can_be_taken_off_the_list_a_signed_one_stays(client, page):
    typo = manifest_entry_add(page.booking, full_name="Ana Ruis")
    signed = manifest_entry_add(page.booking, full_name="Bo Ruiz")
    waiver_sign(signed, signed_name="Bo Ruiz", over_18=True, accepted=True)
    html = client.get(party_url(page)).content.decode()
    assert "Remove Ana Ruis from the list" in html and "Remove Bo Ruiz" not in html

    removed = client.post(party_url(page), {"form": "remove", "token": typo.token})
    assert removed.status_code == 200 and "Ana Ruis is off the list." in removed.content.decode()
    kept = client.post(party_url(page), {"form": "remove", "token": signed.token})
    assert kept.status_code == 400 and "so the name stays on the list" in kept.content.decode()
    gone = client.post(party_url(page), {"form": "remove", "token": "x" * 500})
    assert gone.status_code == 400 and "no longer on the list" in gone.content.decode()
    assert list(ManifestEntry.objects.values_list("full_name", flat=True)) == ["Bo Ruiz"]
    assert AuditEvent.objects.filter(action="guestpages.manifest.entry_removed").count() == 1
