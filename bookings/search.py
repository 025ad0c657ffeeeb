"""Finding bookings by what a dispatcher types: reference, guest, contact, meeting point, crew.

Every word must match somewhere (words are ANDed, places ORed), case-insensitively and
anywhere in the text. On PostgreSQL the booking's columns have trigram GIN indexes on
``UPPER(column)`` (migration ``0006_booking_search_trigram``), which is the expression
Django's ``icontains`` compares, so a search reads the index, not the table; SQLite runs the
same lookups as plain scans. Crew names are matched in the assignment table and joined back
by id (no DISTINCT over the bookings).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.text import smart_split, unescape_string_literal

from .models import Booking

#: the booking's own columns a search reads (each has a trigram index on PostgreSQL)
SEARCH_COLUMNS = ("external_id", "guest_name", "guest_email", "guest_phone", "meeting_point")
#: related text a search reads too, as ``relation: lookup path`` from that relation's model
SEARCH_RELATED = {"assignments": "member__name"}


def _words(text: str) -> list[str]:
    words = []
    for bit in smart_split(text):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        if bit.strip():
            words.append(bit.strip())
    return words


def booking_search(queryset: QuerySet[Booking], text: str) -> QuerySet[Booking]:
    """Narrow ``queryset`` to bookings matching every word of ``text``. Read-only."""
    for word in _words(text):
        match = Q()
        for column in SEARCH_COLUMNS:
            match |= Q(**{f"{column}__icontains": word})
        for relation, path in SEARCH_RELATED.items():
            related = Booking._meta.get_field(relation).related_model
            fk = Booking._meta.get_field(relation).field.attname
            ids = related.objects.filter(**{f"{path}__icontains": word}).values(fk)
            match |= Q(pk__in=ids)
        queryset = queryset.filter(match)
    return queryset
