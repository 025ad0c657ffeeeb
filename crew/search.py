"""Crew names in the bookings' search document: kept on every write that changes them.

``bookings.search`` owns the document and ``booking_crew_names_set``; bookings never
imports crew, so crew tells it, here. Signal receivers rather than calls in each domain
function, because assignments also change through the booking page's inline formset and
members are renamed on their admin page, and the document must follow every one of those.
A queryset ``update()``/``bulk_create`` of assignments bypasses them: call
``crew_search_names_refresh`` after one.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import TextField, Value
from django.db.models.functions import Concat
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from bookings.models import Booking
from bookings.search import SEARCH_SEPARATOR, booking_crew_names_set, booking_crew_names_text

from .models import CrewAssignment, CrewMember

#: bookings recomputed per round when a member's name changes (a member may crew thousands)
CHUNK = 500


def crew_search_names_refresh(booking_ids: Iterable[int]) -> int:
    """Recompute these bookings' crew names in their search document; returns how many changed.

    Two queries per call (the assignments' names, then the stored documents) plus one UPDATE
    per 500 changed bookings. Idempotent; runs in the caller's transaction.
    """
    names: dict[int, list[str]] = {pk: [] for pk in booking_ids}
    if not names:
        return 0
    rows = CrewAssignment.objects.filter(booking_id__in=names).values_list(
        "booking_id", "member__name"
    )
    for booking_id, name in rows.order_by():
        names[booking_id].append(name)
    return booking_crew_names_set(names)


@receiver(post_save, sender=CrewAssignment, dispatch_uid="crew_search_assignment_saved")
@receiver(post_delete, sender=CrewAssignment, dispatch_uid="crew_search_assignment_deleted")
def _assignment_changed(sender, instance: CrewAssignment, raw: bool = False, **kwargs) -> None:
    if raw:  # loaddata: the fixture carries the booking's document as it was
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not {"member", "booking"} & set(update_fields):
        return  # an answer, a notification time: not who is on board
    crew_search_names_refresh([instance.booking_id])


@receiver(post_save, sender=CrewMember, dispatch_uid="crew_search_member_saved")
def _member_saved(sender, instance: CrewMember, created: bool, raw: bool = False, **kwargs):
    """A renamed member: re-write the documents of their bookings without the new name.

    One query when nothing changed (a save of the email, say): the name is matched whole,
    between separators, so a name that is part of another crew name still counts as new.
    """
    if created or raw:
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and "name" not in update_fields:
        return
    sep = SEARCH_SEPARATOR
    token = sep + booking_crew_names_text([instance.name]) + sep
    stale = list(
        Booking.objects.filter(assignments__member=instance)
        .alias(names=Concat(Value(sep), "crew_names", Value(sep), output_field=TextField()))
        .exclude(names__contains=token)
        .values_list("pk", flat=True)
        .order_by()
    )
    for start in range(0, len(stale), CHUNK):
        crew_search_names_refresh(stale[start : start + CHUNK])
