"""Photos moved from ``crew`` to ``bookings`` (state only): a database populated at the
previous schema migrates forward with every row, foreign key and permission in place.

Runs on whichever database is configured (SQLite by default, PostgreSQL in CI's second pass).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from bookings.photos.models import Photo, PhotoGrant
from crew.models import CrewMember
from crew.voyage.models import VoyagePhoto


def _moves(executor: MigrationExecutor) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The two migrations that move the photos, and the state just before them (by name, so
    renumbering the migrations does not break the test)."""
    graph = executor.loader.graph
    moves = [
        key
        for key in graph.nodes
        if key[0] == "bookings"
        and key[1].endswith("_photos")
        or key[0] == "crew"
        and key[1].endswith("_photos_to_bookings")
    ]
    assert len(moves) == 2, moves
    before = [
        next(parent for parent in graph.node_map[key].parents if parent.key[0] == key[0]).key
        for key in moves
    ]
    return moves, before


@pytest.mark.django_db(transaction=True)
def test_photos_and_grants_survive_the_move_to_bookings():
    executor = MigrationExecutor(connection)
    _, before = _moves(executor)
    executor.migrate(before)
    ContentType.objects.clear_cache()
    try:
        old = MigrationExecutor(connection).loader.project_state(before).apps
        assert old.get_model("crew", "Photo")._meta.db_table == "crew_photo"
        User = old.get_model("auth", "User")
        Boat = old.get_model("bookings", "Boat")
        Booking = old.get_model("bookings", "Booking")
        OldMember = old.get_model("crew", "CrewMember")
        OldPhoto = old.get_model("crew", "Photo")
        OldGrant = old.get_model("crew", "PhotoGrant")
        Record = old.get_model("crew", "VoyageRecord")
        OldTag = old.get_model("crew", "VoyagePhoto")
        # The Operations group with its photo rights, as an existing database has them
        # (bookings 0002 made them; an earlier transactional test's flush may have removed them).
        photo_type, _ = old.get_model("contenttypes", "ContentType").objects.get_or_create(
            app_label="crew", model="photo"
        )
        operations, _ = old.get_model("auth", "Group").objects.get_or_create(name="Operations")
        for codename in ("view_photo", "change_photo"):
            permission, _ = old.get_model("auth", "Permission").objects.get_or_create(
                content_type=photo_type,
                codename=codename,
                defaults={"name": f"Can {codename.split('_')[0]} photo"},
            )
            operations.permissions.add(permission)

        boat = Boat.objects.create(name="Jada", slug="jada-m", external_id="b-m", capacity=12)
        start = timezone.now() + timedelta(days=3)
        booking = Booking.objects.create(
            source="boatsetter",
            external_id="BS-MIGRATE-1",
            boat=boat,
            start=start,
            end=start + timedelta(hours=4),
            guest_name="Ana Guest",
            boat_price=Decimal("950.00"),
            service_fee=Decimal("95.00"),
            captain_fee=Decimal("200.00"),
            owner_payout=Decimal("855.00"),
        )
        user = User.objects.create(username="migrating-captain")
        member = OldMember.objects.create(user=user, name="Cap", email="cap@example.com")
        crew_photo = OldPhoto.objects.create(
            booking=booking,
            uploaded_by="crew",
            member=member,
            key="photos/m/crew/a.jpg",
            content_type="image/jpeg",
            size=2048,
            hidden=True,
        )
        OldPhoto.objects.create(
            booking=booking,
            uploaded_by="guest",
            key="photos/m/guest/b.png",
            content_type="image/png",
        )
        grant = OldGrant.objects.create(
            booking=booking,
            uploaded_by="crew",
            member=member,
            key="photos/m/crew/c.jpg",
            content_type="image/jpeg",
            size=4096,
            expires_at=start,
            status="checking",
        )
        record = Record.objects.create(booking=booking, boat=boat)
        OldTag.objects.create(record=record, photo=crew_photo, stage="departure")

        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        ContentType.objects.clear_cache()

        photos = {p.key: p for p in Photo.objects.select_related("booking", "member")}
        assert set(photos) == {"photos/m/crew/a.jpg", "photos/m/guest/b.png"}
        moved = photos["photos/m/crew/a.jpg"]
        assert (moved.pk, moved.booking.external_id, moved.member.name) == (
            crew_photo.pk,
            "BS-MIGRATE-1",
            "Cap",
        )
        assert (moved.size, moved.hidden, moved.uploaded_by) == (2048, True, Photo.Uploader.CREW)
        assert photos["photos/m/guest/b.png"].member is None
        assert list(CrewMember.objects.get(pk=member.pk).photos.all()) == [moved]
        moved_grant = PhotoGrant.objects.get(pk=grant.pk)
        assert (moved_grant.booking_id, moved_grant.member_id, moved_grant.status) == (
            booking.pk,
            member.pk,
            PhotoGrant.Status.CHECKING,
        )
        assert VoyagePhoto.objects.get(record_id=record.pk).photo == moved
        # New rows go to the same tables, after the old ones.
        assert Photo.objects.create(
            booking_id=booking.pk, uploaded_by="guest", key="photos/m/guest/d.jpg"
        ).pk > max(p.pk for p in photos.values())
        # Deleting a photo takes its voyage tag along (the tag now points at bookings.Photo).
        Photo.objects.filter(booking_id=booking.pk).delete()
        assert not VoyagePhoto.objects.filter(record_id=record.pk).exists()
        # The content types moved with the models: the Operations group keeps its photo rights.
        assert set(
            ContentType.objects.filter(model__in=["photo", "photogrant"]).values_list(
                "app_label", flat=True
            )
        ) == {"bookings"}
        assert {"bookings.view_photo", "bookings.change_photo"} <= {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name="Operations").permissions.select_related("content_type")
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
