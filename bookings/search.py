"""Finding bookings by what a dispatcher types: reference, guest, contact, meeting point, crew.

Every word must match somewhere (words are ANDed, places ORed), case-insensitively and
anywhere in the text. The places are one "search document" per booking, its five columns
joined by a separator nobody types (``booking_search_document``), and on PostgreSQL that
document has one trigram GIN index on ``UPPER(document::text)`` (migration
``0011_booking_search_document``), the expression Django's ``icontains`` compares. One index
scan per word, which the planner does choose; with five per-column indexes (0006) it judged
the BitmapOr dearer than reading all 100,000 rows, and a search for a reference took 150 ms
instead of 1 ms. SQLite runs the same lookup as a plain scan. Crew names are matched in the (small) member table first; a word
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

from django.db.models import F, Q, QuerySet, TextField, Value
from django.db.models.functions import Concat
from django.utils.text import smart_split, unescape_string_literal

from .models import Booking

#: the booking's own columns a search reads, joined into one indexed document
SEARCH_COLUMNS = ("external_id", "guest_name", "guest_email", "guest_phone", "meeting_point")
#: between the columns: a control character, so no typed word or phrase matches across two
SEARCH_SEPARATOR = "\x1f"
#: the alias a searched queryset carries the document under
DOCUMENT = "search_document"


def booking_search_document() -> Concat:
    """The expression searched and indexed (migration 0011 builds its index from this)."""
    parts: list = []
    for column in SEARCH_COLUMNS:
        parts += [Value(SEARCH_SEPARATOR), F(column)] if parts else [F(column)]
    return Concat(*parts, output_field=TextField())


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
    guest, a reference), the word is matched in the search document (on PostgreSQL its
    trigram index); when some do, the document matches or the booking is one of those
    members' assignments.
    """
    assignment_model, member_model = _crew_models()
    words = _words(text)
    if words:
        queryset = queryset.alias(**{DOCUMENT: booking_search_document()})
    for word in words:
        own = Q(**{f"{DOCUMENT}__icontains": word.replace(SEARCH_SEPARATOR, "")})
        members = list(
            member_model.objects.filter(name__icontains=word).values_list("pk", flat=True)
        )
        if not members:
            queryset = queryset.filter(own)
            continue
        crew = assignment_model.objects.filter(member_id__in=members).values("booking_id")
        queryset = queryset.filter(own | Q(pk__in=crew))
    return queryset
