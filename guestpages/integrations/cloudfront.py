"""CloudFront invalidations for published guest pages, behind a small interface.

Domain code asks ``get_invalidator()`` for a ``CdnInvalidator``; with no distribution id
configured (the embedded default, or S3 served without a CDN) it gets one that does nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from django.conf import settings

from charterops.fanout.errors import classify
from charterops.fanout.targets import PermanentError, TargetError, TransientError


@runtime_checkable
class CdnInvalidator(Protocol):
    """Something that can make a CDN forget cached copies of some paths."""

    def invalidate(self, paths: Sequence[str], *, reference: str) -> str:
        """Ask the CDN to drop ``paths``; returns the invalidation's id ("" when none was made).

        ``reference`` is the caller's idempotency key: the same reference with the same paths
        must not create a second invalidation.
        """
        ...


class NoInvalidation:
    """The CDN-less default: nothing is cached in front of the pages, nothing to invalidate."""

    def invalidate(self, paths: Sequence[str], *, reference: str) -> str:
        return ""


@dataclass
class RecordingInvalidator:
    """A fake for tests: remembers every call and returns a predictable id."""

    calls: list[tuple[tuple[str, ...], str]] = field(default_factory=list)

    def invalidate(self, paths: Sequence[str], *, reference: str) -> str:
        self.calls.append((tuple(paths), reference))
        return f"I{len(self.calls)}"


# AWS error codes that mean "fix the configuration", with a message a person can act on.
_PERMANENT_HINTS = {
    "NoSuchDistribution": "CloudFront distribution {dist} does not exist; "
    "check CHARTEROPS_CLOUDFRONT_DISTRIBUTION_ID.",
    "AccessDenied": "Not allowed to invalidate CloudFront distribution {dist}; "
    "the role needs cloudfront:CreateInvalidation on it.",
    "InvalidArgument": "CloudFront refused the invalidation request for {dist}.",
}


class CloudFrontInvalidator:
    """Invalidations on one CloudFront distribution through boto3."""

    def __init__(self, distribution_id: str, *, client: Any = None) -> None:
        self.distribution_id = distribution_id
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            # CloudFront is a global service; its API lives in us-east-1.
            self._client = boto3.client("cloudfront", region_name="us-east-1")
        return self._client

    def invalidate(self, paths: Sequence[str], *, reference: str) -> str:
        """Create one invalidation for ``paths``.

        Idempotent per ``reference``: CloudFront answers a repeated CallerReference with the
        invalidation it already made. Raises ``TransientError`` on throttling, timeouts and
        5xx (retry later) and ``PermanentError`` on a missing distribution or denied access.
        """
        items = list(dict.fromkeys(paths))
        try:
            response = self.client.create_invalidation(
                DistributionId=self.distribution_id,
                InvalidationBatch={
                    "Paths": {"Quantity": len(items), "Items": items},
                    "CallerReference": reference,
                },
            )
        except Exception as exc:
            raise _classify(exc, self.distribution_id) from exc
        return response["Invalidation"]["Id"]


def _classify(exc: Exception, distribution_id: str) -> TargetError:
    error = classify(exc)
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    if code == "TooManyInvalidationsInProgress":
        # Not a configuration problem: CloudFront caps concurrent invalidations; wait.
        return TransientError(f"CloudFront is busy with other invalidations ({code}).")
    if isinstance(error, PermanentError) and code in _PERMANENT_HINTS:
        return PermanentError(_PERMANENT_HINTS[code].format(dist=distribution_id), detail=str(exc))
    return error


def get_invalidator() -> CdnInvalidator:
    """The invalidator for the configured distribution, or one that does nothing."""
    distribution_id = settings.CLOUDFRONT_DISTRIBUTION_ID
    if not distribution_id:
        return NoInvalidation()
    return CloudFrontInvalidator(distribution_id)
