"""The party's manifest and waivers: who is aboard, who to call ashore, who signed what.

The guest names the party (up to the party size) and an emergency contact on an app-served
form reached from the guest page; each adult signs the company's waiver from their own share
link (a minor is signed for by a parent or guardian). A signature records the waiver text's
version and SHA-256, the time and the address, and is kept as an HTML document and a PDF
(``waiver_pdf``), each written once through ``storages["default"]`` with its SHA-256 (never
rewritten). Each change is one transaction with one
audit row; signing tells the readiness registry (``charterops.readiness``) so the crew's
"All waivers signed" item ticks itself.
"""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from bookings.models import Booking
from bookings.photos.uploads import UploadRefused
from charterops.audit import SourceActor, audit_log
from charterops.readiness import ReadinessState, booking_readiness_changed

from .models import Manifest, ManifestEntry, WaiverSignature, WaiverText
from .waiver_pdf import waiver_pdf

NAME_MAX = 100
PHONE_MAX = 40
DEFAULT_WAIVER_BODY = """\
I am taking part in a sailing charter. I understand that sailing has risks: slips and falls on a \
moving deck, sun and cold, sea sickness, the boom and lines under load, and the sea itself.

I will follow the captain's and crew's instructions, including the safety briefing before we \
get underway, and wear a life jacket when asked. I will tell the captain before departure \
about any medical condition that matters aboard.

I accept these risks and release the company, its captains, crew and the boat's owner from \
claims for injury or loss, except those caused by their gross negligence or wilful misconduct.

I have read this waiver and sign it freely."""

#: who signs from a share link: the guest is not a user; audit rows say so.
GUEST = SourceActor("guest")


class ManifestRefused(ValueError):
    """The form is refused; the message is a sentence for the guest."""


class PartyFormsClosed(UploadRefused):
    """The booking is not (or no longer) taking names and signatures; a sentence for the guest."""


def guest_forms_window_check(booking: Booking, *, now: datetime | None = None) -> None:
    """Raise ``PartyFormsClosed`` unless the booking is live and the charter has not ended."""
    now = now or timezone.now()
    if booking.is_ended:
        raise PartyFormsClosed("This charter was cancelled, so its party list is closed.")
    if not booking.is_live:
        raise PartyFormsClosed("The party list opens once your charter is confirmed.")
    if now >= booking.end:
        raise PartyFormsClosed("This charter is over, so its party list is closed. Thank you!")


def clean_text(value: Any, *, label: str, max_length: int, required: bool = True) -> str:
    """Trimmed single-line text without control characters; a sentence when refused."""
    text = " ".join(str(value or "").split())
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in text):
        raise ManifestRefused(f"{label} contains characters we cannot keep; please retype it.")
    if required and not text:
        raise ManifestRefused(f"Please enter {label.lower()}.")
    if len(text) > max_length:
        raise ManifestRefused(
            f"{label} is {len(text)} characters long; please keep it to {max_length}."
        )
    return text


# --- The waiver text ---------------------------------------------------------------------


def _sha256(title: str, body: str) -> str:
    return hashlib.sha256(f"{title}\n\n{body}".encode()).hexdigest()


def waiver_text_publish(*, title: str, body: str, actor: Any = None) -> WaiverText:
    """Add a new version of the waiver (the one guests sign from now on). Never edits one.

    One transaction, one audit row. A version whose text equals the current one is not added.
    """
    body = body.replace("\r\n", "\n").strip()
    title = title.strip()
    with transaction.atomic():
        current = WaiverText.objects.select_for_update().order_by("-version").first()
        if current is not None and current.sha256 == _sha256(title, body):
            return current
        version = (WaiverText.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        text = WaiverText.objects.create(
            version=version,
            title=title,
            body=body,
            sha256=_sha256(title, body),
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        audit_log("guestpages.waiver_text.published", text, actor=actor, data={"version": version})
    return text


def waiver_text_current() -> WaiverText:
    """The version guests sign now; the built-in text becomes version 1 on first use."""
    current = WaiverText.objects.order_by("-version").first()
    if current is not None:
        return current
    try:
        return waiver_text_publish(
            title=WaiverText._meta.get_field("title").default, body=DEFAULT_WAIVER_BODY
        )
    except IntegrityError:  # another request published version 1 at the same moment
        return WaiverText.objects.order_by("-version").first()


# --- The manifest ------------------------------------------------------------------------


def party_entries(booking: Booking) -> QuerySet[ManifestEntry]:
    """The booking's party as it stands: every name not taken off by staff."""
    return ManifestEntry.objects.filter(booking=booking, removed_at__isnull=True)


def manifest_entries(booking: Booking) -> list[ManifestEntry]:
    """The party as named, in order, with each one's signature (one query)."""
    return list(party_entries(booking).select_related("waiver"))


def manifest_entry_add(booking: Booking, *, full_name: Any, actor: Any = GUEST) -> ManifestEntry:
    """Add one name to the party, up to the party size. One audit row.

    Raises ``ManifestRefused`` (a sentence) for a bad name or a full party. The booking row
    is locked while counting so that two phones adding the last place add one name. The
    guest's form and the staff's booking page both add through here (``actor`` says who).
    """
    name = clean_text(full_name, label="The full name", max_length=NAME_MAX)
    with transaction.atomic():
        locked = Booking.objects.select_for_update(of=("self",)).get(pk=booking.pk)
        if party_entries(locked).count() >= locked.party_size:
            raise ManifestRefused(
                f"Your party is {locked.party_size}, and {locked.party_size} names are on the "
                "list already. Reply to your booking email if more people are coming."
            )
        entry = ManifestEntry.objects.create(booking=locked, full_name=name)
        audit_log("guestpages.manifest.entry_added", entry, actor=actor, booking=locked)
    return entry


def manifest_entry_rename(entry: ManifestEntry, *, full_name: Any, actor: Any) -> ManifestEntry:
    """Correct a name on the party (a typo) while that person has not signed. One audit row.

    A signed name is locked: the signature is a record of that name. Raises
    ``ManifestRefused`` (a sentence) for a bad or signed name. Idempotent: the same name
    writes nothing.
    """
    name = clean_text(full_name, label="The full name", max_length=NAME_MAX)
    with transaction.atomic():
        locked = (
            party_entries(entry.booking_id)
            .select_for_update(of=("self",))
            .filter(pk=entry.pk)
            .first()
        )
        if locked is None:
            raise ManifestRefused("That name is no longer on the list.")
        if WaiverSignature.objects.filter(entry=locked).exists():
            raise ManifestRefused(
                f"{locked.full_name} has signed the waiver, so the name is locked; remove the "
                "entry with a reason instead."
            )
        if locked.full_name == name:
            return locked
        old = locked.full_name
        locked.full_name = name
        locked.save(update_fields=["full_name"])
        audit_log(
            "guestpages.manifest.entry_renamed",
            locked,
            actor=actor,
            booking=entry.booking,
            data={"old": old, "new": name},
        )
    return locked


def manifest_entry_remove(
    booking: Booking, *, token: Any, actor: Any = GUEST, reason: Any = ""
) -> str:
    """Take a name off the party (a typo, someone not coming). One audit row.

    An unsigned name is deleted. A signed one is a record: the guest cannot remove it, and
    staff (an ``actor`` other than the guest) only with a ``reason``; the row and its
    signature stay, marked removed with the reason, and leave every list and count. Returns
    the removed name; raises ``ManifestRefused`` (a sentence) otherwise.
    """
    why = clean_text(reason, label="The reason", max_length=300, required=False)
    with transaction.atomic():
        entry = (
            party_entries(booking)
            .select_for_update(of=("self",))
            .filter(token=str(token or "")[:32])
            .first()
        )
        if entry is None:
            raise ManifestRefused("That name is no longer on the list.")
        name = entry.full_name
        signature = WaiverSignature.objects.filter(entry=entry).first()
        if signature is not None and actor is GUEST:
            raise ManifestRefused(
                f"{name} has signed the waiver, so the name stays on the list; reply "
                "to your booking email to change it."
            )
        if signature is not None and not why:
            raise ManifestRefused(
                f"{name} has signed the waiver: give the reason for taking them off the party."
            )
        data: dict[str, Any] = {"name": name}
        if why:
            data["reason"] = why
        if signature is not None:
            data["waiver_id"] = signature.pk
        audit_log(
            "guestpages.manifest.entry_removed", entry, actor=actor, booking=booking, data=data
        )
        if signature is None:
            entry.delete()
        else:
            entry.removed_at, entry.removed_reason = timezone.now(), why
            entry.save(update_fields=["removed_at", "removed_reason"])
        booking_readiness_changed(booking)
    return name


def manifest_contact_set(booking: Booking, *, name: Any, phone: Any) -> Manifest:
    """Set the emergency contact ashore (a name and a phone number). One audit row."""
    from django.core.exceptions import ValidationError

    from charterops.phones import phone_normalize

    clean_name = clean_text(name, label="The emergency contact's name", max_length=NAME_MAX)
    raw_phone = clean_text(phone, label="The emergency contact's phone", max_length=PHONE_MAX)
    try:
        clean_phone = phone_normalize(raw_phone)
    except ValidationError as exc:
        raise ManifestRefused(
            "The emergency contact's phone does not look like a phone number; include the "
            "country code if it is not a US number."
        ) from exc
    with transaction.atomic():
        manifest, _ = Manifest.objects.select_for_update().get_or_create(booking=booking)
        manifest.emergency_name, manifest.emergency_phone = clean_name, clean_phone
        manifest.save()
        audit_log("guestpages.manifest.contact_set", manifest, actor=GUEST, booking=booking)
    return manifest


# --- Signing -----------------------------------------------------------------------------


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def waiver_sign(
    entry: ManifestEntry,
    *,
    signed_name: Any,
    over_18: bool,
    date_of_birth: date | None = None,
    guardian_name: Any = "",
    accepted: bool,
    ip: str | None = None,
    user_agent: str = "",
    now: datetime | None = None,
) -> WaiverSignature:
    """Record one person's signed waiver and store its document; once per person.

    An adult confirms being 18 or over (or gives a date of birth showing it) and types their
    full name; a minor's parent or guardian gives the minor's date of birth and types their
    own name. The current waiver version and its SHA-256, the time and the address are kept,
    and the signed page is written once through ``storages["default"]``. Raises
    ``ManifestRefused`` with a sentence; a second signature for the same person is refused.
    """
    now = now or timezone.now()
    booking = entry.booking
    typed = clean_text(signed_name, label="Your signature (your full name)", max_length=NAME_MAX)
    guardian = clean_text(
        guardian_name, label="The parent's or guardian's name", max_length=NAME_MAX, required=False
    )
    if not accepted:
        raise ManifestRefused("Please tick the box to say you have read and accept the waiver.")
    charter_day = timezone.localtime(booking.start).date()
    if date_of_birth is not None and not date(1900, 1, 1) <= date_of_birth <= charter_day:
        raise ManifestRefused("The date of birth is not a real one; please check it.")
    adult = over_18 or (date_of_birth is not None and _age_on(date_of_birth, charter_day) >= 18)
    if over_18 and date_of_birth is not None and _age_on(date_of_birth, charter_day) < 18:
        raise ManifestRefused(
            f"{entry.full_name} is under 18 on the day of the charter by that date of birth; "
            "a parent or guardian signs for a minor."
        )
    if adult:
        if guardian:
            guardian = ""  # an adult signs for themselves
        if not _same_name(typed, entry.full_name):
            raise ManifestRefused(
                f"Please type your full name exactly as on the list ({entry.full_name}) to sign."
            )
    else:
        if date_of_birth is None:
            raise ManifestRefused(
                "Please confirm you are 18 or over, or give the minor's date of birth."
            )
        if not guardian:
            raise ManifestRefused(
                "A parent or guardian signs for a minor: please enter their name."
            )
        if not _same_name(typed, guardian):
            raise ManifestRefused("Please type the parent's or guardian's full name to sign.")
    text = waiver_text_current()
    with transaction.atomic():
        # The person's row alone is locked: two phones signing for one person queue here, and
        # the second finds the first's signature (a lock on a missing row would lock nothing).
        ManifestEntry.objects.select_for_update(of=("self",)).filter(pk=entry.pk).first()
        if WaiverSignature.objects.filter(entry=entry).exists():
            raise ManifestRefused(f"{entry.full_name} has signed the waiver already. Thank you!")
        signature = WaiverSignature(
            entry=entry,
            booking=booking,
            waiver_text=text,
            text_version=text.version,
            text_sha256=text.sha256,
            signed_name=typed,
            adult=adult,
            date_of_birth=date_of_birth,
            guardian_name=guardian,
            signed_at=now,
            ip=ip or None,
            user_agent=user_agent[:300],
        )
        html = render_to_string(
            "guestpages/waiver_signed.html",
            {"signature": signature, "entry": entry, "booking": booking, "text": text},
        ).encode()
        # A name of its own per attempt: a document, once written, is never overwritten.
        key = f"waivers/{booking.pk}/{entry.token}-v{text.version}-{uuid.uuid4().hex[:8]}.html"
        storage = storages["default"]
        saved = storage.save(key, ContentFile(html))
        signature.document = saved
        signature.document_sha256 = hashlib.sha256(html).hexdigest()
        # The PDF beside it, once, under a name of its own too (staff download either).
        pdf = waiver_pdf(signature, text=text)
        pdf_saved = storage.save(key.removesuffix(".html") + ".pdf", ContentFile(pdf))
        signature.pdf_document = pdf_saved
        signature.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        try:
            with transaction.atomic():
                signature.save()
        except IntegrityError:
            storage.delete(saved)
            storage.delete(pdf_saved)
            raise ManifestRefused(
                f"{entry.full_name} has signed the waiver already. Thank you!"
            ) from None
        audit_log(
            "guestpages.waiver.signed",
            signature,
            actor=GUEST,
            booking=booking,
            data={"version": text.version, "sha256": text.sha256, "adult": adult},
        )
        booking_readiness_changed(booking)
    return signature


def waiver_document(signature: WaiverSignature) -> bytes:
    """The signed document as stored; raises ``ManifestRefused`` if it was altered."""
    with storages["default"].open(signature.document) as fh:
        body = fh.read()
    if hashlib.sha256(body).hexdigest() != signature.document_sha256:
        raise ManifestRefused("The stored waiver does not match its recorded SHA-256.")
    return body


# --- What crew and staff see -------------------------------------------------------------


@dataclass(frozen=True)
class PartyStatus:
    """The party against the booking: names listed, waivers signed, the party size."""

    named: int
    signed: int
    party_size: int

    @property
    def complete(self) -> bool:
        return self.party_size > 0 and self.signed >= self.party_size

    def __str__(self) -> str:
        return f"{self.signed}/{self.party_size} waivers signed"


def party_status(booking: Booking) -> PartyStatus:
    """Counts in one query."""
    from django.db.models import Count

    counts = party_entries(booking).aggregate(named=Count("id"), signed=Count("waiver"))
    return PartyStatus(counts["named"], counts["signed"], booking.party_size)


def waivers_readiness(booking: Booking) -> ReadinessState:
    """The readiness check "All waivers signed": met when signatures reach the party size."""
    status = party_status(booking)
    return ReadinessState(met=status.complete, label=str(status))


def manifest_crew_context(booking: Booking) -> dict[str, Any]:
    """What the crew page shows of the party (two queries)."""
    entries = manifest_entries(booking)
    signed = sum(1 for e in entries if hasattr(e, "waiver"))
    return {
        "entries": entries,
        "status": PartyStatus(len(entries), signed, booking.party_size),
        "manifest": Manifest.objects.filter(booking=booking).first(),
    }
