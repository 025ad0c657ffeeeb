"""The shared AWS fixtures really give an S3 the app's storages write to."""

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

pytestmark = pytest.mark.django_db


def test_s3_storage_writes_guest_pages_to_the_bucket(s3_storage, settings):
    storages["guestpages"].save("g/abc.html", ContentFile(b"<p>hi</p>"))
    s3 = boto3.client("s3", region_name=settings.AWS_REGION)
    body = s3.get_object(Bucket=settings.GUEST_PAGES_BUCKET, Key="g/abc.html")["Body"].read()
    assert body == b"<p>hi</p>"


def test_moto_server_serves_s3_over_http(s3_storage_server, settings):
    storages["default"].save("photos/1/crew/a.jpg", ContentFile(b"jpeg"))
    s3 = boto3.client("s3", region_name=settings.AWS_REGION, endpoint_url=s3_storage_server)
    assert (
        s3.head_object(Bucket=settings.PHOTOS_BUCKET, Key="photos/1/crew/a.jpg")["ContentLength"]
        == 4
    )
