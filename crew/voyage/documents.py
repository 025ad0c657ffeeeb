"""Versions of the charter record PDF: queued with the record's change, rendered, stored, mailed.

``voyage_document_queue`` runs inside the record's transaction: it adds the next version's
row and, on commit, enqueues ``voyage_document_render``. Rendering is idempotent (the
storage key is fixed per version, so a redelivered task writes the same file again). The
damage email to operations is the one outside side effect that must not repeat: it is sent
under a claim (a conditional UPDATE ``queued`` -> ``sending``), outside any transaction,
and the outcome is recorded only while the claim is held.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from bookings.marketplace.rules import claim_deadline, marketplace_rules_for, source_label
from charterops.audit import audit_log

from .models import VoyageDocument, VoyageRecord
from .pdf import voyage_record_pdf
from .records import boat_local

DEFAULT_OPERATIONS_EMAIL = "ops@queenofsandiego.com"


def operations_email() -> str:
    """Where damage reports go (``CHARTEROPS_OPERATIONS_EMAIL``)."""
    return getattr(settings, "CHARTEROPS_OPERATIONS_EMAIL", "") or DEFAULT_OPERATIONS_EMAIL


def voyage_document_key(document: VoyageDocument) -> str:
    record = document.record
    return f"records/{record.booking_id}/{record.booking.reference}-record-v{document.version}.pdf"


def voyage_document_queue(record: VoyageRecord, *, reason: str) -> VoyageDocument:
    """Add the next version of the record PDF; must run in the caller's transaction.

    The render task is enqueued on commit (and dropped with a rollback). Old versions stay.
    """
    from .tasks import voyage_document_render_task

    latest = record.documents.aggregate(v=Max("version"))["v"] or 0
    document = VoyageDocument.objects.create(
        record=record,
        version=latest + 1,
        reason=reason[:200],
        mail_status=VoyageDocument.Mail.QUEUED if record.damage else VoyageDocument.Mail.NONE,
    )
    transaction.on_commit(lambda: voyage_document_render_task.delay(document.pk))
    return document


def _read_photo(key: str) -> bytes | None:
    try:
        with storages["default"].open(key, "rb") as handle:
            return handle.read()
    except Exception:  # noqa: BLE001  (a missing or unreadable photo only loses its thumbnail)
        return None


def voyage_document_render(document_id: int) -> VoyageDocument | None:
    """Render and store one version, then mail it to operations if damage was reported.

    Idempotent: a rendered version is not rendered again, and the email is sent at most
    once per version. Storage errors propagate (the task retries them).
    """
    document = (
        VoyageDocument.objects.select_related(
            "record__booking__boat__upkeep",
            "record__boat__upkeep",
            "record__departed_by",
            "record__returned_by",
        )
        .filter(pk=document_id)
        .first()
    )
    if document is None:
        return None
    if document.status != VoyageDocument.Status.DONE:
        rendered_at = timezone.now()
        data = voyage_record_pdf(
            document.record,
            version=document.version,
            rendered_at=rendered_at,
            read_photo=_read_photo,
        )
        key = voyage_document_key(document)
        storage = storages["default"]
        if storage.exists(key):
            storage.delete(key)
        stored = storage.save(key, ContentFile(data))
        VoyageDocument.objects.filter(pk=document.pk).update(
            status=VoyageDocument.Status.DONE,
            key=stored,
            size=len(data),
            rendered_at=rendered_at,
            error="",
        )
        document.refresh_from_db()
    if document.mail_status == VoyageDocument.Mail.QUEUED:
        voyage_document_mail(document)
    return document


def voyage_document_mail(document: VoyageDocument) -> bool:
    """Email a rendered version to operations, at most once. Returns True if this call sent it.

    Claim (one conditional UPDATE), send outside any transaction, record under the claim.
    A failed send is marked ``failed`` with the reason; staff can see it on the booking.
    """
    claimed = VoyageDocument.objects.filter(
        pk=document.pk,
        status=VoyageDocument.Status.DONE,
        mail_status=VoyageDocument.Mail.QUEUED,
    ).update(mail_status=VoyageDocument.Mail.SENDING)
    if not claimed:
        return False
    record = document.record
    booking = record.booking
    with storages["default"].open(document.key, "rb") as handle:
        data = handle.read()
    rules = marketplace_rules_for(booking.source)
    claim = ""
    if rules is not None:
        deadline = claim_deadline(booking, rules, ended_at=record.returned_at)
        claim = f" The {source_label(booking.source)} claim is due by " + (
            boat_local(deadline, record.boat).strftime("%a %b %-d, %-I:%M %p %Z") + "."
        )
    message = EmailMessage(
        subject=f"Damage reported: {booking.boat} · {booking.reference}",
        body=(
            f"The crew of {booking.reference} ({booking.boat}, {booking.guest_name}) reported "
            f"damage at return.\n\n{record.damage_notes}\n\n"
            "The charter record is attached (version "
            f"{document.version}).{claim}"
        ),
        to=[operations_email()],
    )
    message.attach(document.key.rsplit("/", 1)[-1], data, "application/pdf")
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001  (any mail backend failure is recorded, not raised)
        VoyageDocument.objects.filter(
            pk=document.pk, mail_status=VoyageDocument.Mail.SENDING
        ).update(mail_status=VoyageDocument.Mail.FAILED, error=str(exc)[:300])
        return False
    with transaction.atomic():
        updated = VoyageDocument.objects.filter(
            pk=document.pk, mail_status=VoyageDocument.Mail.SENDING
        ).update(mail_status=VoyageDocument.Mail.SENT, mailed_at=timezone.now())
        if updated:
            audit_log(
                "crew.voyage.damage_mailed",
                document,
                booking=booking,
                data={"version": document.version, "to": operations_email()},
            )
    return True


def voyage_document_bytes(document: VoyageDocument) -> bytes:
    """The stored PDF of a rendered version."""
    with storages["default"].open(document.key, "rb") as handle:
        return handle.read()
