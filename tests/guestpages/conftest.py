"""Guest-page fixtures: the S3 storage as production configures it, and a CloudFront distribution."""

from __future__ import annotations

import boto3
import pytest


def create_distribution(settings) -> str:
    """A CloudFront distribution in front of the guest-pages bucket (moto); returns its id."""
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    origin_domain = f"{settings.GUEST_PAGES_BUCKET}.s3.{settings.AWS_REGION}.amazonaws.com"
    response = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "guest-pages-test",
            "Comment": "guest pages",
            "Enabled": True,
            "Aliases": {"Quantity": 1, "Items": ["queenofsandiego.com"]},
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "guest-pages",
                        "DomainName": origin_domain,
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "guest-pages",
                "ViewerProtocolPolicy": "redirect-to-https",
                "MinTTL": 0,
                "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                "TrustedSigners": {"Enabled": False, "Quantity": 0},
            },
        }
    )
    return response["Distribution"]["Id"]


@pytest.fixture
def guest_s3(s3_storage, settings):
    """Guest pages on (moto) S3 behind a (moto) CloudFront distribution, as in production."""
    settings.GUEST_PAGES_CUSTOM_DOMAIN = "queenofsandiego.com"
    settings.CLOUDFRONT_DISTRIBUTION_ID = create_distribution(settings)
    return settings.CLOUDFRONT_DISTRIBUTION_ID


def invalidations(distribution_id: str) -> list[dict]:
    """Every invalidation made on the distribution, with its paths, oldest first."""
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    listing = cloudfront.list_invalidations(DistributionId=distribution_id)
    items = listing["InvalidationList"].get("Items", [])
    details = [
        cloudfront.get_invalidation(DistributionId=distribution_id, Id=item["Id"])["Invalidation"]
        for item in items
    ]
    return sorted(details, key=lambda d: d["CreateTime"])


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the cache; every test starts with none spent."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
