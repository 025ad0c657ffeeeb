"""Photo and PhotoGrant move from ``crew`` to ``bookings`` (``bookings/photos/``).

State only: the tables keep their names (``crew_photo``, ``crew_photogrant``) and their rows,
constraints and indexes; nothing in the database changes. ``crew`` 0010 then removes the models
from its own state, points the voyage photo tag here and moves the content types (so the
permissions granted on photos, the Operations group's included, stay).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0013_marketplacerules_relays_guest_messages"),
        ("crew", "0009_checklist_item_auto_key"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Photo",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "uploaded_by",
                            models.CharField(
                                choices=[("crew", "Crew"), ("guest", "Guest")], max_length=5
                            ),
                        ),
                        ("key", models.CharField(max_length=500, unique=True)),
                        ("content_type", models.CharField(max_length=100)),
                        ("size", models.PositiveBigIntegerField(default=0)),
                        ("hidden", models.BooleanField(default=False)),
                        ("uploaded_at", models.DateTimeField(auto_now_add=True)),
                        ("taken_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "booking",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="photos",
                                to="bookings.booking",
                            ),
                        ),
                        (
                            "member",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="photos",
                                to="crew.crewmember",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "crew_photo",
                        "ordering": ["booking_id", "uploaded_at"],
                    },
                ),
                migrations.CreateModel(
                    name="PhotoGrant",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "uploaded_by",
                            models.CharField(
                                choices=[("crew", "Crew"), ("guest", "Guest")], max_length=5
                            ),
                        ),
                        ("key", models.CharField(max_length=500, unique=True)),
                        ("content_type", models.CharField(max_length=100)),
                        ("size", models.PositiveBigIntegerField()),
                        ("expires_at", models.DateTimeField()),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("granted", "Granted"),
                                    ("checking", "Being checked"),
                                    ("confirmed", "Confirmed"),
                                    ("refused", "Refused (not a photo)"),
                                    ("swept", "Expired unconfirmed (removed)"),
                                ],
                                default="granted",
                                max_length=10,
                            ),
                        ),
                        ("claimed_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "booking",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="photo_grants",
                                to="bookings.booking",
                            ),
                        ),
                        (
                            "member",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="crew.crewmember",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "crew_photogrant",
                        "indexes": [
                            models.Index(
                                condition=models.Q(("status__in", ["granted", "checking"])),
                                fields=["expires_at"],
                                name="photogrant_open",
                            )
                        ],
                    },
                ),
            ],
        ),
    ]
