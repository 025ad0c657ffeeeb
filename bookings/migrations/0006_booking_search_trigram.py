"""Trigram GIN indexes for the booking search (PostgreSQL only; SQLite searches by scanning).

The indexes are on ``UPPER(column)``, the expression Django's ``icontains`` compares on
PostgreSQL. They are created by SQL outside the model state, so that SQLite (and any
table rebuild there) never sees a GIN index.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

COLUMNS = ("external_id", "guest_name", "guest_email", "guest_phone", "meeting_point")


def _create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS booking_{column}_trgm ON bookings_booking "
            f'USING gin (UPPER("{column}"::text) gin_trgm_ops)'
        )


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS booking_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("bookings", "0005_webhook_delivery_queue")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(_create, _drop),
    ]
