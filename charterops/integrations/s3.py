"""The S3 adapter for photos: presigned POST/GET and HEAD, behind a small Protocol.

Domain code (``bookings.photos.uploads``) talks to an ``ObjectStore``; only this module imports
boto3. ``S3ObjectStore`` is the real one; ``LocalObjectStore`` is the embedded default and
keeps files in Django's default storage, with grants signed by ``django.core.signing``.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.core import signing
from django.core.files.storage import storages
from django.urls import reverse

# Named after the module that once held the upload rules: signed URLs already handed out stay valid.
LOCAL_POST_SALT = "charterops.uploads.post"
LOCAL_GET_SALT = "charterops.uploads.get"
# S3 object tags of photos: the lifecycle rule (README) expires those still "unconfirmed".
UNCONFIRMED_TAGGING = (
    "<Tagging><TagSet><Tag><Key>charterops-photo</Key><Value>unconfirmed</Value></Tag>"
    "</TagSet></Tagging>"
)
CONFIRMED_TAGGING = "charterops-photo=confirmed"


@dataclass(frozen=True)
class ObjectInfo:
    """What a HEAD request tells about a stored object."""

    size: int
    content_type: str


class ObjectStore(Protocol):
    def presigned_post(
        self, *, key: str, content_type: str, min_bytes: int, max_bytes: int, expires_in: int
    ) -> dict[str, Any]:
        """A browser form grant for exactly ``key``, ``content_type`` and a size in the range.

        Returns ``{"url": ..., "fields": {...}}``; the store itself refuses anything else.
        """

    def head(self, key: str) -> ObjectInfo | None:
        """Size and type of ``key``, or None when nothing was stored there."""

    def presigned_get(self, key: str, *, expires_in: int) -> str:
        """A URL that shows the object to whoever holds it, for ``expires_in`` seconds."""

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error (idempotent)."""

    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        """The first ``max_bytes`` of ``key`` (a ranged GET), or None when it is missing."""

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Replace ``key`` with ``data`` (idempotent: the same bytes give the same object)."""

    def mark_confirmed(self, key: str) -> None:
        """Tag ``key`` as confirmed, so the bucket's lifecycle rule keeps it (idempotent)."""


def s3_client():
    """A boto3 S3 client with SigV4 and the endpoint/region from settings.

    SigV4 matters: boto3's default presigned URLs use the old scheme, which newer regions
    and moto's policy checks refuse. A custom endpoint (moto, S3-compatible stores) is on
    an IP or single host name, so path-style addressing is used there.
    """
    import boto3
    from botocore.config import Config

    endpoint = settings.AWS_S3_ENDPOINT_URL or None
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path" if endpoint else "auto"},
        retries={"max_attempts": 4, "mode": "standard"},
    )
    return boto3.client("s3", region_name=settings.AWS_REGION, endpoint_url=endpoint, config=config)


class S3ObjectStore:
    """Photos in ``settings.PHOTOS_BUCKET``. botocore retries throttling and 5xx itself."""

    def __init__(self, client=None, *, bucket: str | None = None) -> None:
        self.client = client or s3_client()
        self.bucket = bucket or settings.PHOTOS_BUCKET

    def presigned_post(
        self, *, key: str, content_type: str, min_bytes: int, max_bytes: int, expires_in: int
    ) -> dict[str, Any]:
        # The key condition is added by boto3 from Key; the rest are ours. S3 enforces every
        # condition of the signed policy at upload time (moto does not: tests read the policy).
        # The tag lets the bucket's lifecycle rule expire objects nobody confirmed.
        return self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type, "tagging": UNCONFIRMED_TAGGING},
            Conditions=[
                {"Content-Type": content_type},
                {"tagging": UNCONFIRMED_TAGGING},
                ["content-length-range", min_bytes, max_bytes],
            ],
            ExpiresIn=expires_in,
        )

    def head(self, key: str) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404 or exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey"}:
                return None
            raise
        return ObjectInfo(size=int(head["ContentLength"]), content_type=head.get("ContentType", ""))

    def presigned_get(self, key: str, *, expires_in: int) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
        )

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            got = self.client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes=0-{max_bytes - 1}"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey"}:
                return None
            raise
        return got["Body"].read(max_bytes)

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            Tagging=CONFIRMED_TAGGING,
        )

    def mark_confirmed(self, key: str) -> None:
        self.client.put_object_tagging(
            Bucket=self.bucket,
            Key=key,
            Tagging={"TagSet": [{"Key": "charterops-photo", "Value": "confirmed"}]},
        )


class LocalObjectStore:
    """The embedded default: files in the default storage, grants signed with SECRET_KEY.

    The upload endpoint accepts the same multipart form as S3 (fields, then ``file``), so
    the page's JavaScript and its no-JS form do not care which store is behind them.
    """

    def __init__(self) -> None:
        self.storage = storages["default"]

    def presigned_post(
        self, *, key: str, content_type: str, min_bytes: int, max_bytes: int, expires_in: int
    ) -> dict[str, Any]:
        policy = signing.dumps(
            {
                "key": key,
                "type": content_type,
                "min": min_bytes,
                "max": max_bytes,
                "ttl": expires_in,
            },
            salt=LOCAL_POST_SALT,
        )
        return {
            # Relative: in local mode the pages that upload are served by this app.
            "url": reverse("uploads:local_upload"),
            "fields": {"key": key, "Content-Type": content_type, "policy": policy},
        }

    def head(self, key: str) -> ObjectInfo | None:
        if not self.storage.exists(key):
            return None
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        return ObjectInfo(size=self.storage.size(key), content_type=content_type)

    def presigned_get(self, key: str, *, expires_in: int) -> str:
        token = signing.dumps({"key": key, "ttl": expires_in}, salt=LOCAL_GET_SALT)
        return reverse("uploads:local_photo", args=[token])

    def delete(self, key: str) -> None:
        self.storage.delete(key)

    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        if not self.storage.exists(key):
            return None
        with self.storage.open(key, "rb") as f:
            return f.read(max_bytes)

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        from django.core.files.base import ContentFile

        if self.storage.exists(key):
            self.storage.delete(key)
        self.storage.save(key, ContentFile(data))

    def mark_confirmed(self, key: str) -> None:
        """Local files have no lifecycle rule; the sweep alone removes unconfirmed ones."""


def object_store() -> ObjectStore:
    """The store for the configured mode; made per call so tests can switch settings."""
    if settings.CHARTEROPS_STORAGE == "s3":
        return S3ObjectStore()
    return LocalObjectStore()
