"""Finding bookings by what a dispatcher types: reference, guest, contact, meeting point, crew.

Every word must match somewhere (words are ANDed, places ORed), case-insensitively and
anywhere in the text. On PostgreSQL the booking's columns have trigram GIN indexes on
``UPPER(column)`` (migration ``0006_booking_search_trigram``), which is the expression
Django's ``icontains`` compares, so a search reads the index, not the table; SQLite runs the
same lookups as plain scans. Crew names are matched in the (small) member table first; a word
that names crew becomes "the booking's columns match, or its id is among those members'
assignments" (a hashed subplan, no join, no DISTINCT over the bookings).

That OR cannot use the trigram indexes, and an exact count of it reads every row; but the
list no longer counts exactly (``charterops.admin_lists``: at most ~1,000 rows, "1,000+"),
and the page itself is read along the ``start`` index, newest first, until fifty match. For
a word as common as a crew member's surname that stops after a few hundred rows, where the
earlier ``pk IN (own UNION crew)`` had to build all ~10,000 matches first (150-400 ms at
100,000 bookings, against 5-30 ms now).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.text import smart_split, unescape_string_literal

from .models import Booking

#: the booking's own columns a search reads (each has a trigram index on PostgreSQL)
SEARCH_COLUMNS = ("external_id", "guest_name", "guest_email", "guest_phone", "meeting_point")


def _words(text: str) -> list[str]:
    words = []
    for bit in smart_split(text):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        if bit.strip():
            words.append(bit.strip())
    return words


def _crew_models():
    """The assignment and member models, reached through the relation (crew imports us)."""
    assignment = Booking._meta.get_field("assignments").related_model
    return assignment, assignment._meta.get_field("member").related_model


def booking_search(queryset: QuerySet[Booking], text: str) -> QuerySet[Booking]:
    """Narrow ``queryset`` to bookings matching every word of ``text``. Read-only.

    Per word: one small query for the crew members whose name matches. When none does (a
    guest, a reference), the word is a plain OR over the indexed columns (on PostgreSQL a
    BitmapOr of the trigram indexes, where the planner judges it cheaper); when some do, it
    is that OR, or the booking is one of those members' assignments.
    """
    assignment_model, member_model = _crew_models()
    for word in _words(text):
        own = Q()
        for column in SEARCH_COLUMNS:
            own |= Q(**{f"{column}__icontains": word})
        members = list(
            member_model.objects.filter(name__icontains=word).values_list("pk", flat=True)
        )
        if not members:
            queryset = queryset.filter(own)
            continue
        crew = assignment_model.objects.filter(member_id__in=members).values("booking_id")
        queryset = queryset.filter(own | Q(pk__in=crew))
    return queryset
