"""Publishing to S3 behind CloudFront (moto): right object, right headers, one invalidation per change."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from django.conf import settings as django_settings

from bookings.services import booking_cancel, booking_update
from charterops.fanout.engine import booking_fanout_request
from charterops.fanout.targets import PermanentError, TransientError
from charterops.models import TargetState
from guestpages.integrations.cloudfront import (
    CloudFrontInvalidator,
    NoInvalidation,
    RecordingInvalidator,
    get_invalidator,
)
from guestpages.models import GuestPage
from guestpages.publishing import GuestPageTarget, guest_page_publish, guest_page_republish
from tests.factories import BookingFactory
from tests.guestpages.conftest import invalidations

pytestmark = pytest.mark.django_db


def s3_object(page: GuestPage) -> dict:
    s3 = boto3.client("s3", region_name=django_settings.AWS_REGION)
    return s3.get_object(Bucket=django_settings.GUEST_PAGES_BUCKET, Key=f"g/{page.page_id}.html")


def test_a_live_booking_is_published_at_its_key_with_html_headers(guest_s3):
    booking = BookingFactory(guest_name="Ana Ruiz")
    outcome = guest_page_publish(booking)
    page = outcome.page

    obj = s3_object(page)
    body = obj["Body"].read()
    assert obj["ContentType"] == "text/html; charset=utf-8"
    assert obj["CacheControl"] == "public, max-age=60"
    assert "Ana Ruiz" in body.decode()
    assert page.content_hash == hashlib.sha256(body).hexdigest()
    assert page.status == GuestPage.Status.PUBLISHED
    assert page.published_at is not None
    assert page.public_url == f"https://queenofsandiego.com/g/{page.page_id}"


def test_publishing_invalidates_the_clean_url_and_the_object(guest_s3):
    outcome = guest_page_publish(BookingFactory())
    (invalidation,) = invalidations(guest_s3)
    paths = invalidation["InvalidationBatch"]["Paths"]["Items"]
    page_id = outcome.page.page_id
    assert sorted(paths) == [f"/g/{page_id}", f"/g/{page_id}.html"]
    assert outcome.invalidation_id == invalidation["Id"]


def test_unchanged_content_uploads_nothing_and_invalidates_nothing(guest_s3):
    booking = BookingFactory()
    first = guest_page_publish(booking)
    modified = s3_object(first.page)["LastModified"]

    again = guest_page_publish(booking)

    assert again.uploaded is False
    assert again.page.published_at == first.page.published_at
    assert s3_object(first.page)["LastModified"] == modified
    assert len(invalidations(guest_s3)) == 1


def test_each_content_change_is_one_upload_and_one_invalidation(guest_s3):
    booking = BookingFactory()
    guest_page_publish(booking)
    booking_update(booking, start=booking.start + timedelta(hours=1), end=booking.end)
    booking.refresh_from_db()
    changed = guest_page_publish(booking)
    guest_page_publish(booking)

    assert changed.uploaded is True
    assert "11:00 AM" in s3_object(changed.page)["Body"].read().decode()
    assert len(invalidations(guest_s3)) == 2


def test_cancelling_replaces_the_page_with_a_notice_and_invalidates_it(
    guest_s3, django_capture_on_commit_callbacks
):
    booking = BookingFactory(guest_name="Ana Ruiz", external_id="BS-4821937")
    with django_capture_on_commit_callbacks(execute=True):
        booking_fanout_request(booking)  # as booking_create does: every target, in-process
    page = GuestPage.objects.get(booking=booking)
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(booking)
    page.refresh_from_db()

    body = s3_object(page)["Body"].read().decode()
    assert "This charter was cancelled" in body
    assert "Ana Ruiz" not in body and "BS-4821937" not in body
    assert page.status == GuestPage.Status.CANCELLED
    assert len(invalidations(guest_s3)) == 2
    state = TargetState.objects.get(booking=booking, target="guest_page")
    assert state.status == TargetState.Status.DONE
    assert state.external_ref == f"g/{page.page_id}.html"


def test_without_a_distribution_the_page_is_uploaded_and_nothing_invalidated(guest_s3, settings):
    settings.CLOUDFRONT_DISTRIBUTION_ID = ""
    assert isinstance(get_invalidator(), NoInvalidation)
    outcome = guest_page_publish(BookingFactory())
    assert outcome.uploaded and outcome.invalidation_id == ""
    assert s3_object(outcome.page)["ContentType"] == "text/html; charset=utf-8"
    assert invalidations(guest_s3) == []


def test_republish_uploads_and_invalidates_even_when_nothing_changed(guest_s3, staff_user):
    booking = BookingFactory()
    guest_page_publish(booking)
    outcome = guest_page_republish(booking, actor=staff_user)
    assert outcome.uploaded
    assert len(invalidations(guest_s3)) == 2


def test_the_target_skips_a_booking_that_never_had_a_page():
    booking = BookingFactory(status="cancelled")
    result = GuestPageTarget().sync(booking, state=None)
    assert result.skipped
    assert not GuestPage.objects.filter(booking=booking).exists()


def test_the_target_reports_the_key_hash_and_url(guest_s3):
    booking = BookingFactory()
    result = GuestPageTarget().sync(booking, state=None)
    page = GuestPage.objects.get(booking=booking)
    assert result.external_ref == f"g/{page.page_id}.html"
    assert result.detail["hash"] == page.content_hash
    assert result.detail["url"] == page.public_url


def test_the_target_is_registered_under_its_dotted_path():
    assert (
        django_settings.CHARTEROPS_FANOUT_TARGETS["guest_page"]
        == "guestpages.publishing.GuestPageTarget"
    )


def test_the_embedded_default_writes_local_storage_served_at_the_clean_url(client):
    booking = BookingFactory(guest_name="Ana Ruiz")
    page = guest_page_publish(booking).page
    assert page.public_url == f"{django_settings.SITE_URL}/g/{page.page_id}"

    response = client.get(f"/g/{page.page_id}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["X-Robots-Tag"].startswith("noindex")
    assert "Ana Ruiz" in response.content.decode()
    assert client.get(f"/g/{page.page_id}/").status_code == 301
    assert client.get("/g/doesnotexist1").status_code == 404


def test_a_missing_bucket_fails_permanently(guest_s3):
    boto3.client("s3", region_name=django_settings.AWS_REGION).delete_bucket(
        Bucket=django_settings.GUEST_PAGES_BUCKET
    )
    with pytest.raises(PermanentError, match="NoSuchBucket"):
        guest_page_publish(BookingFactory())


def test_an_unknown_distribution_fails_permanently_with_the_setting_named(guest_s3, settings):
    settings.CLOUDFRONT_DISTRIBUTION_ID = "E0000NOTREAL"
    with pytest.raises(PermanentError, match="CHARTEROPS_CLOUDFRONT_DISTRIBUTION_ID"):
        guest_page_publish(BookingFactory())


class ThrottledCloudFront:
    def create_invalidation(self, **kwargs):
        raise ClientError(
            {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "CreateInvalidation"
        )


class BusyCloudFront:
    def create_invalidation(self, **kwargs):
        raise ClientError(
            {"Error": {"Code": "TooManyInvalidationsInProgress", "Message": "busy"}},
            "CreateInvalidation",
        )


@pytest.mark.parametrize("client", [ThrottledCloudFront(), BusyCloudFront()])
def test_throttling_is_transient_and_the_hash_is_kept_for_the_retry(guest_s3, client):
    booking = BookingFactory()
    invalidator = CloudFrontInvalidator("E123", client=client)
    with pytest.raises(TransientError):
        guest_page_publish(booking, invalidator=invalidator)
    page = GuestPage.objects.get(booking=booking)
    assert page.content_hash == ""  # not recorded: the retry uploads and invalidates again

    recording = RecordingInvalidator()
    assert guest_page_publish(booking, invalidator=recording).uploaded
    assert len(recording.calls) == 1


def test_a_retry_of_the_same_version_reuses_the_invalidation_reference(guest_s3):
    booking = BookingFactory()
    recording = RecordingInvalidator()
    guest_page_publish(booking, invalidator=recording)
    GuestPage.objects.filter(booking=booking).update(content_hash="")  # as after a lost save
    guest_page_publish(booking, invalidator=recording)
    (_, first), (_, second) = recording.calls
    assert first == second  # CloudFront answers a repeated CallerReference with the same one


def test_each_upload_leaves_one_audit_row(guest_s3, staff_user):
    from charterops.models import AuditEvent

    booking = BookingFactory()
    guest_page_publish(booking)
    guest_page_publish(booking)  # unchanged: no upload, no row
    guest_page_republish(booking, actor=staff_user)
    booking.status = "cancelled"
    booking.save()
    guest_page_publish(booking)

    rows = list(
        AuditEvent.objects.filter(booking=booking, action__startswith="guestpages.")
        .order_by("id")
        .values_list("action", "actor_label")
    )
    assert rows == [
        ("guestpages.guest_page.published", "system"),
        ("guestpages.guest_page.republished", staff_user.username),
        ("guestpages.guest_page.withdrawn", "system"),
    ]
