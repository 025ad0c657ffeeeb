"""Photo uploads: the presigned POST policy, the HEAD check, the local signed endpoints."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from charterops.uploads import (
    MAX_PHOTO_BYTES,
    UploadRefused,
    photo_upload_confirm,
    photo_upload_grant,
    photo_view_url,
)
from crew.models import Photo
from tests.factories import BookingFactory, CrewAssignmentFactory

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"0" * 2048


@pytest.fixture
def assignment():
    return CrewAssignmentFactory()


def _policy(grant: dict) -> dict:
    return json.loads(base64.b64decode(grant["fields"]["policy"]))


def _put(settings, key: str, body: bytes = JPEG, content_type: str = "image/jpeg") -> None:
    s3 = boto3.client("s3", region_name=settings.AWS_REGION)
    s3.put_object(Bucket=settings.PHOTOS_BUCKET, Key=key, Body=body, ContentType=content_type)


class TestPresignedPostPolicy:
    def test_policy_limits_type_size_and_key_prefix(self, s3_storage, settings, assignment):
        booking, member = assignment.booking, assignment.member
        grant = photo_upload_grant(
            booking,
            uploader="crew",
            filename="IMG_0042.JPG",
            content_type="image/jpeg",
            size=3_000_000,
            member=member,
        )
        assert grant["key"].startswith(f"photos/{booking.pk}/crew/m{member.pk}-")
        assert grant["key"].endswith("IMG_0042.jpg")
        assert settings.PHOTOS_BUCKET in grant["url"]
        policy = _policy(grant)
        conditions = policy["conditions"]
        assert ["starts-with", "$Content-Type", "image/"] in conditions
        assert ["content-length-range", 1, 25 * 1024 * 1024] in conditions
        assert {"key": grant["key"]} in conditions
        assert {"bucket": settings.PHOTOS_BUCKET} in conditions
        assert {"x-amz-algorithm": "AWS4-HMAC-SHA256"} in conditions  # SigV4
        expires = timezone.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        assert timedelta(minutes=1) < expires - timezone.now() <= timedelta(minutes=15)

    def test_guest_key_is_under_the_guest_prefix(self, s3_storage, booking):
        grant = photo_upload_grant(
            booking, uploader="guest", filename="a.png", content_type="image/png", size=10
        )
        assert grant["key"].startswith(f"photos/{booking.pk}/guest/")
        assert {"key": grant["key"]} in _policy(grant)["conditions"]

    def test_grant_posts_to_moto_and_confirm_records_the_photo(self, s3_storage, assignment):
        import requests  # moto intercepts it in-process like boto3

        booking, member = assignment.booking, assignment.member
        grant = photo_upload_grant(
            booking,
            uploader="crew",
            filename="deck.jpg",
            content_type="image/jpeg",
            size=len(JPEG),
            member=member,
        )
        response = requests.post(grant["url"], data=grant["fields"], files={"file": JPEG})
        assert response.status_code in (200, 204)
        photo = photo_upload_confirm(booking, key=grant["key"], uploader="crew", member=member)
        assert (photo.booking, photo.member, photo.size) == (booking, member, len(JPEG))
        assert photo.content_type == "image/jpeg"
        url = photo_view_url(photo)
        assert "X-Amz-Expires=" in url and "X-Amz-Signature=" in url
        assert requests.get(url).content == JPEG


class TestGrantRefusals:
    @pytest.mark.parametrize(
        ("content_type", "size", "message"),
        [
            ("application/pdf", 10, "Only photos"),
            ("image/svg+xml", 10, "Only photos"),
            ("image/jpeg", 0, "empty"),
            ("image/jpeg", MAX_PHOTO_BYTES + 1, "25 MB"),
        ],
    )
    def test_refuses(self, s3_storage, assignment, content_type, size, message):
        with pytest.raises(UploadRefused, match=message):
            photo_upload_grant(
                assignment.booking,
                uploader="crew",
                filename="x.jpg",
                content_type=content_type,
                size=size,
                member=assignment.member,
            )

    def test_refuses_a_cancelled_charter_and_a_closed_window(self, s3_storage):
        cancelled = BookingFactory(status="cancelled")
        with pytest.raises(UploadRefused, match="cancelled"):
            photo_upload_grant(
                cancelled, uploader="guest", filename="a.jpg", content_type="image/jpeg", size=5
            )
        old = BookingFactory()
        old.start -= timedelta(days=30)
        old.end -= timedelta(days=30)
        old.save()
        with pytest.raises(UploadRefused, match="closed"):
            photo_upload_grant(
                old, uploader="guest", filename="a.jpg", content_type="image/jpeg", size=5
            )

    def test_the_persons_extension_never_decides_the_served_type(self, s3_storage, booking):
        grant = photo_upload_grant(
            booking, uploader="guest", filename="evil.html", content_type="image/png", size=5
        )
        assert grant["key"].endswith("evil.png")


class TestHeadCheck:
    def test_refuses_a_key_that_was_never_uploaded(self, s3_storage, assignment):
        grant = photo_upload_grant(
            assignment.booking,
            uploader="crew",
            filename="a.jpg",
            content_type="image/jpeg",
            size=5,
            member=assignment.member,
        )
        with pytest.raises(UploadRefused, match="did not arrive"):
            photo_upload_confirm(
                assignment.booking, key=grant["key"], uploader="crew", member=assignment.member
            )
        assert not Photo.objects.exists()

    def test_refuses_another_bookings_key_even_when_it_exists(self, s3_storage, settings):
        mine, theirs = CrewAssignmentFactory(), CrewAssignmentFactory()
        key = f"photos/{theirs.booking.pk}/crew/m{mine.member.pk}-abc-x.jpg"
        _put(settings, key)
        with pytest.raises(UploadRefused, match="does not belong"):
            photo_upload_confirm(mine.booking, key=key, uploader="crew", member=mine.member)

    def test_refuses_another_members_or_the_guests_key(self, s3_storage, settings):
        mine = CrewAssignmentFactory()
        other = CrewAssignmentFactory(booking=mine.booking)
        theirs = f"photos/{mine.booking.pk}/crew/m{other.member.pk}-abc-x.jpg"
        guest = f"photos/{mine.booking.pk}/guest/abc-x.jpg"
        for key in (theirs, guest, f"photos/{mine.booking.pk}/crew/m{mine.member.pk}-/../x"):
            _put(settings, key)
            with pytest.raises(UploadRefused):
                photo_upload_confirm(mine.booking, key=key, uploader="crew", member=mine.member)

    def test_deletes_and_refuses_an_object_that_breaks_the_limits(self, s3_storage, settings):
        a = CrewAssignmentFactory()
        key = f"photos/{a.booking.pk}/crew/m{a.member.pk}-abc-x.jpg"
        _put(settings, key, body=b"<html>", content_type="text/html")
        with pytest.raises(UploadRefused, match="not a photo"):
            photo_upload_confirm(a.booking, key=key, uploader="crew", member=a.member)
        s3 = boto3.client("s3", region_name=settings.AWS_REGION)
        assert s3.list_objects_v2(Bucket=settings.PHOTOS_BUCKET).get("KeyCount", 0) == 0

    def test_confirm_is_idempotent(self, s3_storage, settings, booking):
        key = f"photos/{booking.pk}/guest/abc-x.jpg"
        _put(settings, key)
        first = photo_upload_confirm(booking, key=key, uploader="guest")
        again = photo_upload_confirm(booking, key=key, uploader="guest")
        assert first.pk == again.pk
        assert Photo.objects.count() == 1


class TestLocalEmbeddedDefault:
    def _grant(self, assignment, **kw):
        return photo_upload_grant(
            assignment.booking,
            uploader="crew",
            filename="deck.jpg",
            content_type="image/jpeg",
            size=len(JPEG),
            member=assignment.member,
            **kw,
        )

    def test_signed_local_upload_then_confirm_then_view(self, client, assignment):
        grant = self._grant(assignment)
        assert grant["url"] == "/uploads/local/"
        response = client.post(
            grant["url"],
            {**grant["fields"], "file": SimpleUploadedFile("deck.jpg", JPEG, "image/jpeg")},
        )
        assert response.status_code == 204
        photo = photo_upload_confirm(
            assignment.booking, key=grant["key"], uploader="crew", member=assignment.member
        )
        assert photo.size == len(JPEG) and photo.content_type == "image/jpeg"
        shown = client.get(photo_view_url(photo))
        assert shown.status_code == 200
        assert shown["Content-Type"] == "image/jpeg"
        assert b"".join(shown.streaming_content) == JPEG

    def test_local_upload_refuses_a_tampered_key_or_policy(self, client, assignment):
        grant = self._grant(assignment)
        upload = SimpleUploadedFile("deck.jpg", JPEG, "image/jpeg")
        tampered = {**grant["fields"], "key": f"photos/{assignment.booking.pk + 1}/crew/x.jpg"}
        assert client.post(grant["url"], {**tampered, "file": upload}).status_code == 403
        forged = {**grant["fields"], "policy": grant["fields"]["policy"] + "x"}
        upload.seek(0)
        assert client.post(grant["url"], {**forged, "file": upload}).status_code == 403
        retyped = {**grant["fields"], "Content-Type": "text/html"}
        upload.seek(0)
        assert client.post(grant["url"], {**retyped, "file": upload}).status_code == 403

    def test_local_upload_refuses_an_oversized_file(self, client, assignment, monkeypatch):
        import charterops.uploads as uploads

        monkeypatch.setattr(uploads, "MAX_PHOTO_BYTES", 100)
        grant = photo_upload_grant(
            assignment.booking,
            uploader="crew",
            filename="deck.jpg",
            content_type="image/jpeg",
            size=50,
            member=assignment.member,
        )
        upload = SimpleUploadedFile("deck.jpg", JPEG, "image/jpeg")
        assert client.post(grant["url"], {**grant["fields"], "file": upload}).status_code == 400

    def test_local_view_url_expires(self, client, booking, time_machine):
        from django.core.files.base import ContentFile
        from django.core.files.storage import storages

        key = f"photos/{booking.pk}/guest/abc-x.jpg"
        storages["default"].save(key, ContentFile(JPEG))
        photo = photo_upload_confirm(booking, key=key, uploader="guest")
        url = photo_view_url(photo)
        assert client.get(url).status_code == 200
        time_machine.move_to(timezone.now() + timedelta(hours=1), tick=False)
        assert client.get(url).status_code == 403

    def test_local_never_uploaded_key_is_refused(self, assignment):
        grant = self._grant(assignment)
        with pytest.raises(UploadRefused):
            photo_upload_confirm(
                assignment.booking, key=grant["key"], uploader="crew", member=assignment.member
            )
