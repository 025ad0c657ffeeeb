"""Finding bookings by what a dispatcher types: reference, guest, contact, meeting point, crew.

Every word must match somewhere (words are ANDed, places ORed), case-insensitively and
anywhere in the text. The places are one "search document" per booking, its columns joined
by a separator nobody types (``booking_search_document``), and on PostgreSQL that document
has one trigram GIN index on ``UPPER(document::text)`` (migration
``0015_booking_crew_names``), the expression Django's ``icontains`` compares. One index scan
per word, which the planner does choose; with five per-column indexes (0006, dropped in 0014)
it judged the BitmapOr dearer than reading all 100,000 rows. SQLite runs the same lookup as a
plain scan.

Crew names are part of the document: the column ``Booking.crew_names`` holds them, written
by ``booking_crew_names_set``, which crew calls whenever a booking's assignments change or a
member is renamed (``crew.search``; bookings never imports crew). A crew name is then one
index scan like any other word, where matching it through the assignments was an OR the
index could not serve (the page read along ``start`` until fifty matched: fast for a
common surname, a whole-table read for a member with few charters).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db.models import F, Q, QuerySet, TextField, Value
from django.db.models.functions import Concat
from django.utils.text import smart_split, unescape_string_literal

#: the booking's own columns a search reads, joined into one indexed document
SEARCH_COLUMNS = (
    "external_id",
    "guest_name",
    "guest_email",
    "guest_phone",
    "meeting_point",
    "crew_names",
)
#: between the columns (and between crew names): a control character, so no typed word or
#: phrase matches across two of them
SEARCH_SEPARATOR = "\x1f"
#: the alias a searched queryset carries the document under
DOCUMENT = "search_document"


def booking_search_document(columns: Iterable[str] = SEARCH_COLUMNS) -> Concat:
    """The expression searched and indexed (migrations build the index from this).

    ``columns`` lets a migration build the document of its own time, not today's.
    """
    parts: list = []
    for column in columns:
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


def booking_search(queryset: QuerySet, text: str) -> QuerySet:
    """Narrow ``queryset`` to bookings matching every word of ``text``. Read-only, no query.

    Each word is matched in the search document (on PostgreSQL through its trigram index).
    """
    words = _words(text)
    if words:
        queryset = queryset.alias(**{DOCUMENT: booking_search_document()})
    for word in words:
        queryset = queryset.filter(
            Q(**{f"{DOCUMENT}__icontains": word.replace(SEARCH_SEPARATOR, "")})
        )
    return queryset


def booking_crew_names_text(names: Iterable[str]) -> str:
    """The ``crew_names`` value for these names: sorted, each once, separated."""
    clean = {name.replace(SEARCH_SEPARATOR, " ").strip() for name in names}
    return SEARCH_SEPARATOR.join(sorted(name for name in clean if name))


def booking_crew_names_set(names_by_booking: Mapping[int, Iterable[str]]) -> int:
    """Store each booking's crew names in its search document; returns the bookings changed.

    ``names_by_booking`` maps a booking id to all its crew's names (an empty list: no crew).
    Writes only the column (no version bump, no audit row: the names are derived, the
    assignment change itself is audited), and only where the text differs, so calling it
    again is free. Ids of deleted bookings are skipped. Runs in the caller's transaction.
    """
    from .models import Booking

    wanted = {pk: booking_crew_names_text(names) for pk, names in names_by_booking.items()}
    if not wanted:
        return 0
    stored = Booking.objects.filter(pk__in=wanted).values_list("pk", "crew_names")
    changed = [Booking(pk=pk, crew_names=wanted[pk]) for pk, text in stored if text != wanted[pk]]
    Booking.objects.bulk_update(changed, ["crew_names"], batch_size=500)
    return len(changed)
