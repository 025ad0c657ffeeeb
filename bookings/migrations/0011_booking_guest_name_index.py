"""A btree index on the guest's name: the booking list sorted by guest reads it in order.

Without it, sorting 100,000 bookings by guest is a sort of the whole table for every page
(~90 ms); with it, an index scan and an incremental sort of each name's few rows by start.
Named 0011 and depending on 0009: another branch adds a 0010; the integrator re-chains.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0009_booking_double_booked"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="booking",
            index=models.Index(fields=["guest_name"], name="booking_guest_name"),
        ),
    ]
