"""The crew's names in the booking's search document, and only the one trigram index.

- ``Booking.crew_names``: the crew's names, kept by crew on every assignment change and
  rename (``bookings.search.booking_crew_names_set``); crew's migration 0010 fills it for
  existing bookings. ``db_default`` so rows inserted by SQL (the bench) get "".
- On PostgreSQL the search document's trigram index (0011) is rebuilt over the document
  with the crew's names, and 0006's five per-column trigram indexes are dropped: no search
  reads them since 0011 (the planner preferred a scan to their BitmapOr), and every booking
  write paid for them.

Named 0014 after 0013; other branches add migrations in parallel: the integrator re-chains.
"""

from importlib import import_module

from django.db import migrations

import bookings.fields

_0011 = import_module("bookings.migrations.0011_booking_list_indexes")
INDEX = _0011.INDEX
COLUMNS = (*_0011.COLUMNS, "crew_names")
PER_COLUMN = ("external_id", "guest_name", "guest_email", "guest_phone", "meeting_point")


def _index(apps, schema_editor, columns) -> None:
    booking = apps.get_model("bookings", "Booking")
    document = _0011._document_sql(booking, schema_editor.connection, columns)
    table = schema_editor.quote_name(booking._meta.db_table)
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    schema_editor.execute(f"CREATE INDEX {INDEX} ON {table} USING gin (({document}) gin_trgm_ops)")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in PER_COLUMN:
        schema_editor.execute(f"DROP INDEX IF EXISTS booking_{column}_trgm")
    _index(apps, schema_editor, COLUMNS)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _index(apps, schema_editor, _0011.COLUMNS)
    for column in PER_COLUMN:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS booking_{column}_trgm ON bookings_booking "
            f'USING gin (UPPER("{column}"::text) gin_trgm_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0014_photos"),
    ]

    operations = [
        migrations.AddField(
            model_name="booking",
            name="crew_names",
            field=bookings.fields.MaintainedTextField(
                blank=True,
                db_default="",
                default="",
                editable=False,
                help_text="The crew's names, for search; kept by crew (``bookings.search``).",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
