"""The photo drop's API: who may get an upload grant, when, from which origin, how often."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import boto3
import pytest
import time_machine
from django.conf import settings as django_settings

from bookings.photos.models import Photo
from bookings.photos.uploads import SIZE_MARGIN_BYTES
from guestpages.models import GuestPage
from tests.factories import BookingFactory
from tests.images import JPEG

pytestmark = pytest.mark.django_db

ORIGIN = "https://queenofsandiego.com"
PHOTO = {"filename": "sunset at the bay.jpg", "content_type": "image/jpeg", "size": len(JPEG)}


@pytest.fixture(autouse=True)
def guest_origin(settings):
    settings.CHARTEROPS_GUEST_PAGE_ORIGIN = ORIGIN


@pytest.fixture
def page(db):
    return GuestPage.objects.create(booking=BookingFactory())


def presign(client, page, body=PHOTO, *, origin=ORIGIN, **extra):
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return client.post(
        f"/g/{page.page_id}/presign",
        data=json.dumps(body),
        content_type="application/json",
        **headers,
        **extra,
    )


def confirm(client, page, key, *, origin=ORIGIN):
    return client.post(
        f"/g/{page.page_id}/photos",
        data=json.dumps({"key": key}),
        content_type="application/json",
        HTTP_ORIGIN=origin,
    )


def policy_of(grant: dict) -> dict:
    return json.loads(base64.b64decode(grant["fields"]["policy"]))


# --- the grant ---------------------------------------------------------------------------


def test_a_confirmed_booking_gets_a_presigned_post_under_its_guest_prefix(client, page, guest_s3):
    response = presign(client, page)
    assert response.status_code == 200
    grant = response.json()
    assert set(grant) == {"url", "fields", "key", "expires_at"}
    assert grant["key"].startswith(f"photos/{page.booking_id}/guest/")
    assert grant["key"].endswith(".jpg")
    assert grant["fields"]["key"] == grant["key"]
    assert grant["fields"]["Content-Type"] == "image/jpeg"
    # moto does not enforce policies: read the signed conditions themselves.
    conditions = policy_of(grant)["conditions"]
    assert ["content-length-range", 1, len(JPEG) + SIZE_MARGIN_BYTES] in conditions
    assert {"Content-Type": "image/jpeg"} in conditions
    assert {"key": grant["key"]} in conditions


def test_the_grant_expires_in_minutes(client, page, guest_s3):
    from datetime import UTC, datetime

    grant = presign(client, page).json()
    expires = datetime.fromisoformat(policy_of(grant)["expiration"].replace("Z", "+00:00"))
    assert timedelta(0) < expires - datetime.now(UTC) <= timedelta(minutes=15)


def test_non_images_and_oversized_files_are_refused_with_a_message(client, page, guest_s3):
    not_a_photo = presign(client, page, {**PHOTO, "content_type": "text/html"})
    assert not_a_photo.status_code == 403
    assert "Only photos" in not_a_photo.json()["error"]
    too_big = presign(client, page, {**PHOTO, "size": 26 * 1024 * 1024})
    assert too_big.status_code == 403
    assert "25 MB" in too_big.json()["error"]


def test_a_body_that_is_not_a_json_object_is_a_bad_request(client, page):
    response = client.post(
        f"/g/{page.page_id}/presign", data="[1]", content_type="application/json"
    )
    assert response.status_code == 400


def test_an_unknown_page_is_not_found(client, db):
    response = client.post(
        "/g/nosuchpage123/presign", data=json.dumps(PHOTO), content_type="application/json"
    )
    assert response.status_code == 404


# --- the window --------------------------------------------------------------------------


def test_before_the_charter_the_drop_is_open(client, page):
    assert page.booking.start > page.booking.created_at
    assert presign(client, page).status_code == 200


def test_just_before_seven_days_after_the_charter_it_is_still_open(client, page):
    with time_machine.travel(page.booking.end + timedelta(days=7) - timedelta(minutes=1)):
        assert presign(client, page).status_code == 200


def test_after_seven_days_after_the_charter_it_is_closed(client, page):
    with time_machine.travel(page.booking.end + timedelta(days=7, minutes=1)):
        response = presign(client, page)
    assert response.status_code == 403
    assert "closed" in response.json()["error"]
    assert response["Access-Control-Allow-Origin"] == ORIGIN  # so the page can show why


def test_a_cancelled_booking_gets_no_grant(client, page):
    page.booking.status = "cancelled"
    page.booking.save()
    response = presign(client, page)
    assert response.status_code == 403
    assert "cancelled" in response.json()["error"]


def test_an_unconfirmed_booking_gets_no_grant(client, page):
    page.booking.status = "pending"
    page.booking.save()
    response = presign(client, page)
    assert response.status_code == 403
    assert "confirmed" in response.json()["error"]


# --- CORS --------------------------------------------------------------------------------


def test_the_preflight_allows_only_the_guest_page_origin(client, page):
    response = client.options(
        f"/g/{page.page_id}/presign",
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert response["Access-Control-Allow-Headers"].lower() == "content-type"
    assert "Origin" in response["Vary"]


def test_a_preflight_from_another_origin_is_refused(client, page):
    response = client.options(
        f"/g/{page.page_id}/presign",
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response


def test_a_post_from_another_origin_is_refused_without_cors_headers(client, page):
    response = presign(client, page, origin="https://evil.example")
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response


def test_the_answer_to_the_guest_page_origin_carries_its_cors_header(client, page):
    response = presign(client, page)
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "Access-Control-Allow-Credentials" not in response


# --- rate limits ----------------------------------------------------------------------------


def test_grants_are_rate_limited_per_page(client, page, settings):
    settings.CHARTEROPS_GUEST_PHOTO_RATE_PER_PAGE = "3/m"
    statuses = [
        presign(client, page, REMOTE_ADDR=f"203.0.113.{n}").status_code for n in range(1, 5)
    ]
    assert statuses == [200, 200, 200, 429]
    refused = presign(client, page, REMOTE_ADDR="203.0.113.99")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert refused["Access-Control-Allow-Origin"] == ORIGIN
    assert "Too many" in refused.json()["error"]


def test_grants_are_rate_limited_per_address(client, settings):
    settings.CHARTEROPS_GUEST_PHOTO_RATE_PER_ADDRESS = "2/m"
    pages = [GuestPage.objects.create(booking=BookingFactory()) for _ in range(3)]
    statuses = [presign(client, p, REMOTE_ADDR="198.51.100.7").status_code for p in pages]
    assert statuses == [200, 200, 429]
    assert presign(client, pages[2], REMOTE_ADDR="198.51.100.8").status_code == 200


# --- confirming an upload ------------------------------------------------------------------


def test_an_uploaded_photo_is_recorded_once_it_decodes(client, page, guest_s3):
    grant = presign(client, page).json()
    s3 = boto3.client("s3", region_name=django_settings.AWS_REGION)
    s3.put_object(
        Bucket=django_settings.PHOTOS_BUCKET,
        Key=grant["key"],
        Body=JPEG,
        ContentType="image/jpeg",
    )
    response = confirm(client, page, grant["key"])
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    photo = Photo.objects.get(key=grant["key"])
    assert photo.booking == page.booking
    assert photo.uploaded_by == Photo.Uploader.GUEST
    assert photo.member is None and not photo.hidden
    # Confirming twice records one photo.
    assert confirm(client, page, grant["key"]).status_code == 201
    assert Photo.objects.filter(booking=page.booking).count() == 1


def test_a_photo_that_never_arrived_is_not_recorded(client, page, guest_s3):
    grant = presign(client, page).json()
    response = confirm(client, page, grant["key"])
    assert response.status_code == 403
    assert "did not arrive" in response.json()["error"]
    assert not Photo.objects.exists()


def test_a_key_of_another_booking_is_refused(client, page, guest_s3):
    other = GuestPage.objects.create(booking=BookingFactory())
    grant = presign(client, other).json()
    response = confirm(client, page, grant["key"])
    assert response.status_code == 403
    assert not Photo.objects.exists()


def test_a_grant_handed_out_just_before_closing_may_still_be_confirmed(client, page, guest_s3):
    closes = page.booking.end + timedelta(days=7)
    with time_machine.travel(closes - timedelta(minutes=1)):
        grant = presign(client, page).json()
    boto3.client("s3", region_name=django_settings.AWS_REGION).put_object(
        Bucket=django_settings.PHOTOS_BUCKET, Key=grant["key"], Body=JPEG, ContentType="image/jpeg"
    )
    with time_machine.travel(closes + timedelta(minutes=2)):
        assert confirm(client, page, grant["key"]).status_code == 201
    with time_machine.travel(closes + timedelta(hours=1)):
        late = presign(client, page)
    assert late.status_code == 403


# --- the page's CSP lets its script reach what the API hands out ----------------------------


def _allowed_by(sources: list[str], url: str) -> bool:
    scheme, rest = url.split("://", 1)
    host = rest.split("/", 1)[0]
    for source in sources:
        s_scheme, s_host = source.split("://", 1)
        if s_scheme != scheme:
            continue
        if s_host == host or (s_host.startswith("*.") and host.endswith(s_host[1:])):
            return True
    return False


@pytest.mark.parametrize("mode", ["local", "s3"])
def test_the_pages_csp_allows_the_presign_api_and_the_grants_upload_url(
    client, request, settings, mode
):
    from guestpages.publishing import guest_page_render
    from tests.guestpages.test_rendering import Page

    if mode == "s3":
        request.getfixturevalue("guest_s3")  # real AWS URLs: no custom endpoint
    page = GuestPage.objects.create(booking=BookingFactory())
    csp = Page(guest_page_render(page)).meta(**{"http-equiv": "Content-Security-Policy"})
    directives = dict(d.strip().split(" ", 1) for d in csp["content"].split(";"))
    connect = directives["connect-src"].split()

    grant = presign(client, page).json()
    assert _allowed_by(connect, f"{settings.SITE_URL}/g/{page.page_id}/presign")
    assert _allowed_by(connect, grant["url"]), (grant["url"], connect)
    assert not _allowed_by(connect, "https://evil.example/steal")
