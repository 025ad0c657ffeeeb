"""Create the "Operations" staff group with what dispatchers need."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPERATIONS_PERMISSIONS = {
    "bookings": [
        "boat:view",
        "booking:add",
        "booking:change",
        "booking:view",
        "webhookdelivery:view",
        "calendarentry:view",
        "calendarfeedtoken:add",
        "calendarfeedtoken:view",
        "calendarfeedtoken:change",
    ],
    "crew": [
        "crewmember:add",
        "crewmember:change",
        "crewmember:view",
        "crewassignment:add",
        "crewassignment:change",
        "crewassignment:delete",
        "crewassignment:view",
        "checklisttemplate:add",
        "checklisttemplate:change",
        "checklisttemplate:view",
        "checklisttemplateitem:add",
        "checklisttemplateitem:change",
        "checklisttemplateitem:delete",
        "checklisttemplateitem:view",
        "checklistitem:change",
        "checklistitem:view",
        "expense:change",
        "expense:view",
        "photo:change",
        "photo:view",
        "notification:view",
    ],
    "guestpages": ["guestpage:view", "guestpage:change"],
    "charterops": ["auditevent:view", "targetstate:view"],
}


def create_group(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Operations")
    for app_label, entries in OPERATIONS_PERMISSIONS.items():
        for entry in entries:
            model, action = entry.split(":")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=f"{action}_{model}"
            ).first()
            if perm is not None:
                group.permissions.add(perm)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Operations").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0001_initial"),
        ("crew", "0001_initial"),
        ("guestpages", "0001_initial"),
        ("charterops", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_group, remove_group)]
