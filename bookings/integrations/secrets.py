"""Reading the Google service-account key: an env var, a file, or AWS Secrets Manager (cached)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from django.conf import settings

from charterops.fanout.targets import PermanentError, TransientError

_TRANSIENT_AWS_CODES = {
    "InternalServiceError",
    "ServiceUnavailable",
    "ThrottlingException",
    "Throttling",
    "RequestTimeout",
}

_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def google_service_account_info() -> dict[str, Any]:
    """The service-account key as a dict, from the first configured source.

    Order: ``CHARTEROPS_GOOGLE_CREDENTIALS_JSON`` (the JSON itself), then
    ``CHARTEROPS_GOOGLE_CREDENTIALS_FILE`` (a path), then the Secrets Manager secret
    ``CHARTEROPS_GOOGLE_SECRET_NAME``. A secret read from AWS is cached in this process for
    ``CHARTEROPS_GOOGLE_SECRET_TTL`` seconds, so a rotated key is picked up without a restart
    and a busy worker does not call AWS for every event. Read-only; raises ``PermanentError``
    naming what is missing or malformed, ``TransientError`` when AWS is throttling or down.
    """
    raw = settings.CHARTEROPS_GOOGLE_CREDENTIALS_JSON.strip()
    if raw:
        return _parse(raw, source="CHARTEROPS_GOOGLE_CREDENTIALS_JSON")
    path = settings.CHARTEROPS_GOOGLE_CREDENTIALS_FILE
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                return _parse(fh.read(), source=f"the file {path}")
        except FileNotFoundError:
            raise PermanentError(
                f"CHARTEROPS_GOOGLE_CREDENTIALS_FILE points at {path}, which does not exist."
            ) from None
    return _secret_cached(settings.CHARTEROPS_GOOGLE_SECRET_NAME)


def google_service_account_cache_clear() -> None:
    """Forget cached secrets (tests; an operator who just rotated the key)."""
    with _lock:
        _cache.clear()


def _secret_cached(name: str) -> dict[str, Any]:
    ttl = settings.CHARTEROPS_GOOGLE_SECRET_TTL
    now = time.monotonic()
    with _lock:
        hit = _cache.get(name)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
    info = _secret_fetch(name)
    with _lock:
        _cache[name] = (now, info)
    return info


def _secret_fetch(name: str) -> dict[str, Any]:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    region = settings.AWS_REGION
    # A client per fetch: fetches are rare (cached), and a client made outside a test's
    # moto context would otherwise talk to real AWS.
    client = boto3.client("secretsmanager", region_name=region)
    try:
        response = client.get_secret_value(SecretId=name)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise PermanentError(
                f"The AWS Secrets Manager secret {name!r} (region {region}) does not exist: "
                "create it with the Google service-account JSON key, or set "
                "CHARTEROPS_GOOGLE_SECRET_NAME / CHARTEROPS_GOOGLE_CREDENTIALS_FILE."
            ) from None
        if code in _TRANSIENT_AWS_CODES:
            raise TransientError(f"AWS Secrets Manager {code} reading {name!r}") from exc
        raise PermanentError(
            f"AWS Secrets Manager refused to read {name!r} ({code}): "
            "give this machine's IAM role secretsmanager:GetSecretValue on it."
        ) from exc
    except BotoCoreError as exc:
        raise TransientError(f"Could not reach AWS Secrets Manager for {name!r}: {exc}") from exc
    raw = response.get("SecretString")
    if raw is None and response.get("SecretBinary") is not None:
        raw = response["SecretBinary"].decode("utf-8")
    return _parse(raw or "", source=f"the AWS Secrets Manager secret {name!r}")


def _parse(raw: str, *, source: str) -> dict[str, Any]:
    try:
        info = json.loads(raw)
    except ValueError:
        raise PermanentError(
            f"{source} is not valid JSON (expected a service-account key)."
        ) from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise PermanentError(
            f"{source} is not a Google service-account key: download a JSON key for the "
            "service account in the Google Cloud console (IAM > Service accounts > Keys)."
        )
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if missing:
        raise PermanentError(f"{source} lacks {', '.join(missing)}: download a fresh JSON key.")
    return info
