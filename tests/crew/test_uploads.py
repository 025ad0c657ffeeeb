"""Photo uploads: the recorded grant, its pinned policy, the content check, the local endpoints."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from bookings.photos.models import Photo, PhotoGrant
from bookings.photos.uploads import (
    GRANT_SECONDS,
    MAX_PHOTO_BYTES,
    SIZE_MARGIN_BYTES,
    UploadRefused,
    photo_grants_sweep,
    photo_upload_confirm,
    photo_upload_grant,
    photo_view_url,
)
from tests.factories import BookingFactory, CrewAssignmentFactory
from tests.images import JPEG, PNG, photo_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def assignment():
    return CrewAssignmentFactory()


def _policy(grant: dict) -> dict:
    return json.loads(base64.b64decode(grant["fields"]["policy"]))


def _put(settings, key: str, body: bytes = JPEG, content_type: str = "image/jpeg") -> None:
    s3 = boto3.client("s3", region_name=settings.AWS_REGION)
    s3.put_object(Bucket=settings.PHOTOS_BUCKET, Key=key, Body=body, ContentType=content_type)


class TestPresignedPostPolicy:
    def test_policy_pins_the_granted_type_the_declared_size_and_the_key(
        self, s3_storage, settings, assignment
    ):
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
        assert {"Content-Type": "image/jpeg"} in conditions  # exactly, not "starts with image/"
        assert not [c for c in conditions if isinstance(c, list) and c[0] == "starts-with"]
        margin = SIZE_MARGIN_BYTES
        assert ["content-length-range", 3_000_000 - margin, 3_000_000 + margin] in conditions
        assert {"key": grant["key"]} in conditions
        assert {"bucket": settings.PHOTOS_BUCKET} in conditions
        assert {"x-amz-algorithm": "AWS4-HMAC-SHA256"} in conditions  # SigV4
        assert {"tagging": grant["fields"]["tagging"]} in conditions
        assert "<Value>unconfirmed</Value>" in grant["fields"]["tagging"]
        expires = timezone.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        assert timedelta(minutes=1) < expires - timezone.now() <= timedelta(minutes=5)

    def test_every_grant_is_recorded(self, s3_storage, assignment):
        grant = photo_upload_grant(
            assignment.booking,
            uploader="crew",
            filename="deck.webp",
            content_type="image/webp",
            size=1234,
            member=assignment.member,
        )
        row = PhotoGrant.objects.get(key=grant["key"])
        assert (row.booking, row.uploaded_by, row.member) == (
            assignment.booking,
            "crew",
            assignment.member,
        )
        assert (row.content_type, row.size, row.status) == ("image/webp", 1234, "granted")
        assert row.expires_at - row.created_at <= timedelta(seconds=GRANT_SECONDS + 1)

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
        assert photo.taken_at is not None  # crew photos keep their capture time
        assert PhotoGrant.objects.get(key=grant["key"]).status == "confirmed"
        url = photo_view_url(photo)
        assert "X-Amz-Expires=" in url and "X-Amz-Signature=" in url
        assert requests.get(url).content == JPEG


class TestGrantRefusals:
    @pytest.mark.parametrize(
        ("content_type", "size", "message"),
        [
            ("application/pdf", 10, "Only photos"),
            ("image/svg+xml", 10, "Only photos"),
            ("image/x-foo", 10, "Only photos"),
            ("image/gif", 10, "Only photos"),
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


def _grant(a, content_type: str = "image/jpeg", body: bytes = JPEG, uploader: str = "crew"):
    return photo_upload_grant(
        a.booking,
        uploader=uploader,
        filename="a.jpg",
        content_type=content_type,
        size=len(body),
        member=a.member if uploader == "crew" else None,
    )


def _confirm(a, key: str, uploader: str = "crew"):
    member = a.member if uploader == "crew" else None
    return photo_upload_confirm(a.booking, key=key, uploader=uploader, member=member)


def _keys(settings) -> list[str]:
    s3 = boto3.client("s3", region_name=settings.AWS_REGION)
    listing = s3.list_objects_v2(Bucket=settings.PHOTOS_BUCKET)
    return [o["Key"] for o in listing.get("Contents", [])]


class TestConfirmAcceptsOnlyGrantedKeys:
    def test_refuses_a_key_that_was_never_uploaded(self, s3_storage, assignment):
        grant = _grant(assignment)
        with pytest.raises(UploadRefused, match="did not arrive"):
            _confirm(assignment, grant["key"])
        assert not Photo.objects.exists()
        assert PhotoGrant.objects.get().status == "granted"  # may still arrive

    def test_refuses_a_key_the_client_chose_even_under_its_own_prefix(
        self, s3_storage, settings, assignment
    ):
        key = f"photos/{assignment.booking.pk}/crew/m{assignment.member.pk}-mine-x.jpg"
        _put(settings, key)
        with pytest.raises(UploadRefused, match="does not belong"):
            _confirm(assignment, key)

    def test_refuses_another_bookings_or_members_or_the_guests_grant(self, s3_storage, settings):
        mine = CrewAssignmentFactory()
        other = CrewAssignmentFactory(booking=mine.booking)
        elsewhere = CrewAssignmentFactory()
        for grant in (_grant(other), _grant(elsewhere), _grant(mine, uploader="guest")):
            _put(settings, grant["key"])
            with pytest.raises(UploadRefused, match="does not belong"):
                _confirm(mine, grant["key"])

    def test_refuses_an_expired_grant(self, s3_storage, settings, assignment, time_machine):
        grant = _grant(assignment)
        _put(settings, grant["key"])
        time_machine.move_to(timezone.now() + timedelta(hours=1), tick=False)
        with pytest.raises(UploadRefused, match="expired"):
            _confirm(assignment, grant["key"])

    def test_confirm_is_idempotent_and_records_one_photo(self, s3_storage, settings, assignment):
        grant = _grant(assignment)
        _put(settings, grant["key"])
        first = _confirm(assignment, grant["key"])
        again = _confirm(assignment, grant["key"])
        assert first.pk == again.pk
        assert Photo.objects.count() == 1

    def test_a_refused_grant_cannot_be_used_again(self, s3_storage, settings, assignment):
        grant = _grant(assignment, body=b"<html>")
        _put(settings, grant["key"], body=b"<html>", content_type="image/jpeg")
        with pytest.raises(UploadRefused, match="not a photo"):
            _confirm(assignment, grant["key"])
        _put(settings, grant["key"])
        with pytest.raises(UploadRefused, match="already used"):
            _confirm(assignment, grant["key"])


class TestContentCheck:
    @pytest.mark.parametrize(
        ("body", "label"),
        [
            (b"<html><script>alert(1)</script></html>", "image/png"),
            (b"\xff\xd8\xff\xe0" + b"0" * 2048, "image/jpeg"),  # JPEG magic, no image
            (JPEG[: len(JPEG) // 2], "image/jpeg"),  # truncated
            (PNG, "image/jpeg"),  # a real photo, but not the type granted
            (photo_bytes("GIF"), "image/jpeg"),
        ],
        ids=["html-as-png", "magic-only", "truncated", "png-as-jpeg", "gif"],
    )
    def test_anything_that_does_not_decode_as_the_granted_photo_is_deleted(
        self, s3_storage, settings, assignment, body, label
    ):
        grant = _grant(assignment, content_type=label, body=body)
        _put(settings, grant["key"], body=body, content_type=label)
        with pytest.raises(UploadRefused, match="not a photo"):
            _confirm(assignment, grant["key"])
        assert _keys(settings) == []
        assert not Photo.objects.exists()
        assert PhotoGrant.objects.get().status == "refused"

    def test_a_size_other_than_declared_is_refused(self, s3_storage, settings, assignment):
        big = photo_bytes("PNG", size=(100, 100), noise=True)
        grant = _grant(assignment, content_type="image/png", body=PNG)
        assert len(big) > len(PNG) + SIZE_MARGIN_BYTES
        _put(settings, grant["key"], body=big, content_type="image/png")
        with pytest.raises(UploadRefused, match="not a photo"):
            _confirm(assignment, grant["key"])

    @pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
    def test_each_accepted_format_is_recorded_with_its_decoded_type(
        self, s3_storage, settings, assignment, fmt
    ):
        body = photo_bytes(fmt)
        label = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}.get(
            fmt, "image/heic"
        )
        grant = _grant(assignment, content_type=label, body=body)
        _put(settings, grant["key"], body=body, content_type=label)
        assert _confirm(assignment, grant["key"]).content_type == label

    def test_guest_photos_lose_their_location_and_keep_their_capture_time(
        self, s3_storage, settings, assignment
    ):
        from charterops.images import image_inspect

        body = photo_bytes("JPEG", gps=True)
        assert image_inspect(body).has_location
        grant = _grant(assignment, body=body, uploader="guest")
        _put(settings, grant["key"], body=body)
        photo = _confirm(assignment, grant["key"], uploader="guest")
        s3 = boto3.client("s3", region_name=settings.AWS_REGION)
        stored = s3.get_object(Bucket=settings.PHOTOS_BUCKET, Key=grant["key"])["Body"].read()
        facts = image_inspect(stored)
        assert not facts.has_location
        assert facts.taken_at == image_inspect(body).taken_at
        assert photo.taken_at is not None and photo.size == len(stored)

    def test_crew_photos_are_kept_as_they_are(self, s3_storage, settings, assignment):
        body = photo_bytes("JPEG", gps=True)
        grant = _grant(assignment, body=body)
        _put(settings, grant["key"], body=body)
        _confirm(assignment, grant["key"])
        s3 = boto3.client("s3", region_name=settings.AWS_REGION)
        got = s3.get_object(Bucket=settings.PHOTOS_BUCKET, Key=grant["key"])["Body"].read()
        assert got == body
        tags = s3.get_object_tagging(Bucket=settings.PHOTOS_BUCKET, Key=grant["key"])["TagSet"]
        assert tags == [{"Key": "charterops-photo", "Value": "confirmed"}]


class TestSweep:
    def test_removes_objects_of_grants_that_expired_unconfirmed_and_only_those(
        self, s3_storage, settings, assignment, time_machine
    ):
        kept, dropped = _grant(assignment), _grant(assignment)
        for grant in (kept, dropped):
            _put(settings, grant["key"])
        _confirm(assignment, kept["key"])
        assert photo_grants_sweep() == 0  # nothing expired yet
        time_machine.move_to(timezone.now() + timedelta(hours=1), tick=False)
        assert photo_grants_sweep() == 1
        assert _keys(settings) == [kept["key"]]
        assert PhotoGrant.objects.get(key=dropped["key"]).status == "swept"
        assert photo_grants_sweep() == 0  # idempotent

    def test_beat_runs_the_sweep_task(self, settings, db):
        from bookings.tasks import photo_grants_sweep_task

        assert settings.CELERY_BEAT_SCHEDULE["photo-grants-sweep"]["task"] == (
            photo_grants_sweep_task.name
        )
        assert photo_grants_sweep_task() == 0


class TestCrewWindow:
    def test_crew_uploads_close_when_crew_links_do(self, s3_storage, settings, assignment):
        booking = assignment.booking
        settings.CHARTEROPS_CREW_LINK_DAYS_AFTER = 7
        booking.start = timezone.now() - timedelta(days=8, hours=4)
        booking.end = timezone.now() - timedelta(days=8)
        booking.save()
        with pytest.raises(UploadRefused, match="closed"):
            _grant(assignment)
        settings.CHARTEROPS_CREW_LINK_DAYS_AFTER = 10
        assert _grant(assignment)["key"]


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

    def test_local_upload_refuses_a_size_other_than_declared(self, client, assignment):
        grant = photo_upload_grant(
            assignment.booking,
            uploader="crew",
            filename="deck.jpg",
            content_type="image/jpeg",
            size=len(JPEG) + SIZE_MARGIN_BYTES + 50,
            member=assignment.member,
        )
        upload = SimpleUploadedFile("deck.jpg", JPEG, "image/jpeg")
        assert client.post(grant["url"], {**grant["fields"], "file": upload}).status_code == 400

    def test_local_view_url_expires(self, client, booking, time_machine):
        from django.core.files.base import ContentFile
        from django.core.files.storage import storages

        grant = photo_upload_grant(
            booking, uploader="guest", filename="a.jpg", content_type="image/jpeg", size=len(JPEG)
        )
        storages["default"].save(grant["key"], ContentFile(JPEG))
        photo = photo_upload_confirm(booking, key=grant["key"], uploader="guest")
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
