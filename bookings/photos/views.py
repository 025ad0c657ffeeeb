"""The embedded default's signed upload and download endpoints (what S3 does in production)."""

from __future__ import annotations

import mimetypes

from django.core import signing
from django.core.files.storage import storages
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from charterops.integrations.s3 import LOCAL_GET_SALT, LOCAL_POST_SALT


def _cors(response: HttpResponse) -> HttpResponse:
    # Like the S3 bucket's CORS rule: the signed policy, not the origin, authorises the upload.
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "*"
    return response


def _refuse(message: str, status: int = 403) -> HttpResponse:
    return _cors(HttpResponse(message, status=status, content_type="text/plain"))


@csrf_exempt  # authorised by the signed policy field, exactly as a presigned S3 POST is
@require_http_methods(["POST", "OPTIONS"])
def local_upload(request: HttpRequest) -> HttpResponse:
    """Store one file at the key of a signed grant; 204 like S3. Overwrites (same key, same file)."""
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    try:
        policy = signing.loads(request.POST.get("policy", ""), salt=LOCAL_POST_SALT)
        policy = signing.loads(
            request.POST["policy"], salt=LOCAL_POST_SALT, max_age=int(policy["ttl"])
        )
    except (signing.BadSignature, KeyError, ValueError):
        return _refuse("Invalid or expired upload policy.")
    upload = request.FILES.get("file")
    if request.POST.get("key") != policy["key"]:
        return _refuse("The key does not match the policy.")
    content_type = request.POST.get("Content-Type", "")
    if content_type != policy["type"]:
        return _refuse("The type does not match the policy.")
    if upload is None or upload.size < 1:
        return _refuse("No file.", status=400)
    # As S3's content-length-range: the declared size, with the grant's small margin.
    if not int(policy.get("min", 1)) <= upload.size <= int(policy["max"]):
        return _refuse("The file size does not match the upload grant.", status=400)
    storage = storages["default"]
    if storage.exists(policy["key"]):
        storage.delete(policy["key"])
    storage.save(policy["key"], upload)
    return _cors(HttpResponse(status=204))


@require_GET
def local_photo(request: HttpRequest, token: str) -> HttpResponse:
    """Serve a stored photo to the holder of an unexpired signed URL."""
    try:
        data = signing.loads(token, salt=LOCAL_GET_SALT)
        data = signing.loads(token, salt=LOCAL_GET_SALT, max_age=int(data["ttl"]))
    except (signing.BadSignature, KeyError, ValueError):
        return HttpResponse("This link has expired.", status=403, content_type="text/plain")
    storage = storages["default"]
    if not storage.exists(data["key"]):
        return HttpResponseNotFound("Not found.")
    content_type = mimetypes.guess_type(data["key"])[0] or ""
    safe = content_type.startswith("image/") and "svg" not in content_type
    response = FileResponse(
        storage.open(data["key"], "rb"),
        content_type=content_type if safe else "application/octet-stream",
        as_attachment=not safe,
    )
    response["Cache-Control"] = "private, max-age=600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
