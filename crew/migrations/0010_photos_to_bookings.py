"""Photo and PhotoGrant now belong to ``bookings`` (``bookings`` 0014 adds them to its state).

State only for the models: the tables ``crew_photo`` and ``crew_photogrant`` stay as they are,
rows, constraints and indexes included; the voyage photo tag's foreign key keeps its column
and constraint and now names ``bookings.Photo``. The two content types are renamed to the
``bookings`` app so the permissions on them (the Operations group's ``view_photo`` and
``change_photo``) and the admin's history stay attached.
"""

import django.db.models.deletion
from django.db import migrations, models

MOVED = ("photo", "photogrant")


def _content_types_move(apps, from_app: str, to_app: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if ContentType.objects.filter(app_label=to_app, model=model).exists():
            continue  # created already (a post_migrate in between): leave both as they are
        ContentType.objects.filter(app_label=from_app, model=model).update(app_label=to_app)
    ContentType.objects.clear_cache()


def content_types_to_bookings(apps, schema_editor) -> None:
    _content_types_move(apps, "crew", "bookings")


def content_types_to_crew(apps, schema_editor) -> None:
    _content_types_move(apps, "bookings", "crew")


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0014_photos"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("crew", "0009_checklist_item_auto_key"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="voyagephoto",
                    name="photo",
                    field=models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="voyage_tag",
                        to="bookings.photo",
                    ),
                ),
                migrations.DeleteModel(name="PhotoGrant"),
                migrations.DeleteModel(name="Photo"),
            ],
        ),
        migrations.RunPython(content_types_to_bookings, content_types_to_crew),
    ]
