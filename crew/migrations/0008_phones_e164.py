"""Existing crew and guest phone numbers in E.164 where they can be read (others are kept)."""

from django.db import migrations


def phones_normalize(apps, schema_editor):
    from charterops.phones import phone_normalize_or_keep

    for label, field in (("crew.CrewMember", "phone"), ("bookings.Booking", "guest_phone")):
        model = apps.get_model(label)
        rows = model.objects.exclude(**{field: ""}).exclude(**{f"{field}__startswith": "+"})
        for pk, value in rows.values_list("pk", field).iterator():
            normal = phone_normalize_or_keep(value)
            if normal != value:
                model.objects.filter(pk=pk).update(**{field: normal})


class Migration(migrations.Migration):
    dependencies = [
        ("crew", "0007_voyage_record"),
        ("bookings", "0007_booking_source_namespace"),
    ]

    operations = [migrations.RunPython(phones_normalize, migrations.RunPython.noop)]
