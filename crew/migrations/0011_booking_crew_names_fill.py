"""Fill the bookings' search document with their crew's names; index notifications by age.

The names (``bookings`` 0014 adds the column): one UPDATE, the names aggregated per booking in SQL, sorted and separated as
``bookings.search.booking_crew_names_text`` writes them; from then on crew keeps them
(``crew.search``).

The notifications list (newest first) read along ``notification_created`` instead of sorting
every notification joined to its booking and member (130 ms at 40,000 notifications).

Named 0010 after 0009; the integrator re-chains parallel migrations.
"""

from django.db import migrations, models
from django.db.models import OuterRef, StringAgg, Subquery, Value
from django.db.models.functions import Coalesce

SEPARATOR = "\x1f"  # bookings.search.SEARCH_SEPARATOR at this migration


def fill(apps, schema_editor):
    booking = apps.get_model("bookings", "Booking")
    assignment = apps.get_model("crew", "CrewAssignment")
    # sorted where the database can (an older SQLite cannot): crew's next write sorts them
    ordered = schema_editor.connection.features.supports_aggregate_order_by_clause
    names = (
        assignment.objects.filter(booking=OuterRef("pk"))
        .order_by()
        .values("booking")
        .annotate(
            names=StringAgg(
                "member__name", Value(SEPARATOR), order_by="member__name" if ordered else None
            )
        )
        .values("names")
    )
    booking.objects.filter(pk__in=assignment.objects.values("booking_id")).update(
        crew_names=Coalesce(Subquery(names), Value(""))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("crew", "0010_photos_to_bookings"),
        ("bookings", "0015_booking_crew_names"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(fields=["created_at", "id"], name="notification_created"),
        ),
    ]
