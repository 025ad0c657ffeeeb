"""AWS test doubles shared by every app: moto in-process, and moto's server for real browsers.

Use as fixtures (they are re-exported by tests/conftest.py):
- ``aws``: moto's ``mock_aws`` with fake credentials and the region from settings; create
  boto3 clients inside the test (a client made outside the mock talks to real AWS).
- ``moto_server``: a ThreadedMotoServer on 127.0.0.1 (random port); yields its URL. A browser
  can POST to presigned URLs pointing at it.
- ``s3_storage``: switches CHARTEROPS_STORAGE to S3 (django-storages, guest pages through
  ``GuestPageStorage`` as in settings) on top of ``aws`` and creates the buckets.
"""

from __future__ import annotations

import urllib.request

import boto3
import pytest

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@pytest.fixture
def aws(monkeypatch, settings):
    from moto import mock_aws

    for key, value in FAKE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", settings.AWS_REGION)
    with mock_aws():
        yield


def _s3_storages(settings, endpoint_url: str | None) -> dict:
    common = {
        "region_name": settings.AWS_REGION,
        "endpoint_url": endpoint_url,
        "signature_version": "s3v4",
        "addressing_style": "path",
    }
    return {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**common, "bucket_name": settings.PHOTOS_BUCKET},
        },
        "guestpages": {
            "BACKEND": "guestpages.storage.GuestPageStorage",
            "OPTIONS": {
                **common,
                "bucket_name": settings.GUEST_PAGES_BUCKET,
                "querystring_auth": False,
                "file_overwrite": True,
            },
        },
        "staticfiles": settings.STORAGES["staticfiles"],
    }


def _reset_storages():
    from django.core.files.storage import storages

    storages._storages = {}
    storages._backends = None


def _create_buckets(settings, endpoint_url: str | None) -> None:
    s3 = boto3.client("s3", region_name=settings.AWS_REGION, endpoint_url=endpoint_url)
    for bucket in {settings.PHOTOS_BUCKET, settings.GUEST_PAGES_BUCKET}:
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": settings.AWS_REGION}
        )


@pytest.fixture
def s3_storage(aws, settings):
    settings.CHARTEROPS_STORAGE = "s3"
    settings.AWS_S3_ENDPOINT_URL = None
    settings.STORAGES = _s3_storages(settings, None)
    _reset_storages()
    _create_buckets(settings, None)
    yield
    _reset_storages()


@pytest.fixture
def moto_server(monkeypatch, settings):
    """moto in server mode on loopback; its URL is also AWS_S3_ENDPOINT_URL for the test."""
    from moto.server import ThreadedMotoServer

    for key, value in FAKE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", settings.AWS_REGION)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    _moto_reset(url)  # moto's backends are shared by the whole process: start empty
    yield url
    _moto_reset(url)
    server.stop()


def _moto_reset(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


@pytest.fixture
def s3_storage_server(moto_server, settings):
    """Like ``s3_storage`` but on moto's server, so a real browser can upload to it."""
    settings.CHARTEROPS_STORAGE = "s3"
    settings.AWS_S3_ENDPOINT_URL = moto_server
    settings.STORAGES = _s3_storages(settings, moto_server)
    _reset_storages()
    _create_buckets(settings, moto_server)
    s3 = boto3.client("s3", region_name=settings.AWS_REGION, endpoint_url=moto_server)
    for bucket in {settings.PHOTOS_BUCKET, settings.GUEST_PAGES_BUCKET}:
        s3.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedMethods": ["POST", "PUT", "GET", "HEAD"],
                        "AllowedOrigins": ["*"],
                        "AllowedHeaders": ["*"],
                        "ExposeHeaders": ["ETag"],
                    }
                ]
            },
        )
    yield moto_server
    _reset_storages()


__all__ = ["aws", "moto_server", "s3_storage", "s3_storage_server"]
