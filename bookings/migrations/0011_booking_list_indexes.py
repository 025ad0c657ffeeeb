"""Two indexes for the booking list at 100,000 bookings: sorting by guest, and searching.

- A btree on the guest's name: the list sorted by guest reads it in order (an incremental
  sort of each name's few rows by start), instead of sorting the whole table per page.
- On PostgreSQL, one trigram GIN index on the search document (``bookings.search``): the
  five columns joined, upper-cased as ``icontains`` compares them. The planner uses it for
  a rare word (a reference, an email: ~1 ms), where it judged the five per-column indexes
  of 0006 dearer than a scan of the table (~150 ms). SQLite gets no GIN index.

Named 0011 and depending on 0009: another branch adds a 0010; the integrator re-chains.
"""

from django.db import migrations, models

INDEX = "booking_search_document_trgm"
#: the document's columns at this migration (0014 adds the crew's names)
COLUMNS = ("external_id", "guest_name", "guest_email", "guest_phone", "meeting_point")


def _document_sql(booking_model, connection, columns=COLUMNS) -> str:
    """The SQL of ``UPPER(document::text)`` exactly as a search compiles it, params inlined."""
    from bookings.search import DOCUMENT, booking_search_document

    query = (
        booking_model.objects.alias(**{DOCUMENT: booking_search_document(columns)})
        .filter(**{f"{DOCUMENT}__icontains": "x"})
        .query
    )
    compiler = query.get_compiler(connection=connection)
    (lookup,) = query.where.children
    sql, params = lookup.process_lhs(compiler, connection)
    return connection.ops.compose_sql(sql, params)


def add_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    booking = apps.get_model("bookings", "Booking")
    document = _document_sql(booking, schema_editor.connection)
    table = schema_editor.quote_name(booking._meta.db_table)
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON {table} USING gin (({document}) gin_trgm_ops)"
    )


def remove_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0010_inbound_email"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="booking",
            index=models.Index(fields=["guest_name"], name="booking_guest_name"),
        ),
        migrations.RunPython(add_search_index, remove_search_index),
    ]
