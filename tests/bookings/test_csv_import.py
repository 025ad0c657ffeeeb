"""CSV import of historical bookings: dry-run preview, per-row errors, idempotent re-import."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bookings.intake.csv_import import COLUMNS, CsvFormatError, bookings_import_csv, csv_template
from bookings.models import Booking
from charterops.models import AuditEvent

pytestmark = pytest.mark.django_db

ROWS = [
    {
        "source": "boatsetter",
        "booking_id": "BS-4700001",
        "status": "completed",
        "boat_id": "b-77",
        "start": "2026-06-05 10:00",
        "end": "2026-06-05 14:00",
        "guest_name": "Ana Ruiz",
        "guest_email": "ana@example.com",
        "party_size": "6",
        "captain_required": "yes",
        "boat_price": "950.00",
        "owner_payout": "855.00",
    },
    {
        "booking_id": "BS-4700002",
        "status": "cancelled",
        "boat_name": "Queen of San Diego",
        "start": "2026-07-04T18:00:00-07:00",
        "end": "2026-07-04T21:00:00-07:00",
        "guest_name": "Łukasz Żółć <b>VIP</b>",
        "party_size": "10",
        "captain_required": "no",
    },
    {
        "booking_id": "BS-4700003",
        "status": "completed",
        "boat_id": "b-999",
        "start": "2026-08-01 10:00",
        "end": "2026-08-01 09:00",
        "guest_name": "",
        "party_size": "lots",
    },
]


def to_csv(rows) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_a_dry_run_reports_each_row_and_saves_nothing(queen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        report = bookings_import_csv(to_csv(ROWS), dry_run=True)
    assert [(r.line, r.outcome) for r in report.rows] == [
        (2, "created"),
        (3, "created"),
        (4, "error"),
    ]
    assert not Booking.objects.exists()
    assert not AuditEvent.objects.exists()
    assert callbacks == []  # no fan-out for rows that were rolled back


def test_errors_name_the_columns_of_the_file(queen):
    errors = bookings_import_csv(to_csv(ROWS), dry_run=True).rows[2].errors
    assert {"party_size", "guest_name"} <= set(errors)
    fixed = {**ROWS[2], "party_size": "4", "guest_name": "Al"}
    errors = bookings_import_csv(to_csv([fixed]), dry_run=True).rows[0].errors
    assert "end" in errors  # end before start
    errors = (
        bookings_import_csv(
            to_csv([{**ROWS[2], "party_size": "4", "guest_name": "Al", "end": "2026-08-01 12:00"}]),
            dry_run=True,
        )
        .rows[0]
        .errors
    )
    assert "b-999" in errors["boat_id / boat_name"][0]


def test_an_import_creates_good_rows_in_pacific_time_and_reports_bad_ones(queen, admin_user):
    report = bookings_import_csv(to_csv(ROWS), dry_run=False, actor=admin_user)
    assert report.counts == {"created": 2, "updated": 0, "cancelled": 0, "unchanged": 0, "error": 1}
    first = Booking.objects.get(external_id="BS-4700001")
    assert (first.source, first.status, first.local_start.hour) == ("boatsetter", "completed", 10)
    second = Booking.objects.get(external_id="BS-4700002")
    assert second.guest_name == "Łukasz Żółć <b>VIP</b>" and second.captain_required is False
    assert second.status == "cancelled"
    assert (
        AuditEvent.objects.filter(action="bookings.booking.created", data__via="csv").count() == 2
    )


def test_importing_the_same_file_again_changes_nothing(queen):
    text = to_csv(ROWS)
    bookings_import_csv(text, dry_run=False)
    before = list(Booking.objects.order_by("pk").values_list("pk", "version", "updated_at"))
    audit = AuditEvent.objects.count()
    report = bookings_import_csv(text, dry_run=False)
    assert [r.outcome for r in report.rows] == ["unchanged", "unchanged", "error"]
    after = list(Booking.objects.order_by("pk").values_list("pk", "version", "updated_at"))
    assert [(pk, v) for pk, v, _ in after] == [(pk, v) for pk, v, _ in before]
    assert AuditEvent.objects.count() == audit


def test_a_changed_row_updates_its_booking(queen):
    bookings_import_csv(to_csv(ROWS[:1]), dry_run=False)
    report = bookings_import_csv(to_csv([{**ROWS[0], "party_size": "8"}]), dry_run=False)
    assert report.rows[0].outcome == "updated"
    assert Booking.objects.get().party_size == 8


def test_a_file_without_the_required_columns_is_refused_whole():
    with pytest.raises(CsvFormatError, match="missing column"):
        bookings_import_csv("name,when\nAna,tomorrow\n", dry_run=True)


def test_the_template_has_every_column_and_imports(queen):
    report = bookings_import_csv(csv_template(), dry_run=True)
    assert report.rows[0].outcome == "created", report.rows[0].errors


def _upload(text: str):
    return SimpleUploadedFile("bookings.csv", text.encode(), content_type="text/csv")


def test_the_admin_page_previews_then_imports_what_was_previewed(admin_client, queen):
    url = reverse("admin:bookings_booking_import_csv")
    assert admin_client.get(url).status_code == 200
    preview = admin_client.post(url, {"file": _upload(to_csv(ROWS)), "dry_run": "1"})
    page = preview.content.decode()
    assert "Dry run: nothing was saved" in page
    assert "party_size" in page and "BS-4700003" in page
    assert not Booking.objects.exists()
    payload = preview.context["payload"]
    done = admin_client.post(url, {"payload": payload, "apply": "1"})
    assert "2 created" in done.content.decode()
    assert Booking.objects.count() == 2


def test_the_admin_page_shows_a_bad_file_as_a_form_error(admin_client):
    url = reverse("admin:bookings_booking_import_csv")
    response = admin_client.post(url, {"file": _upload("a,b\n1,2\n"), "dry_run": "1"})
    assert "missing column(s)" in response.content.decode()
    response = admin_client.post(
        url, {"file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00bad"), "dry_run": "1"}
    )
    assert "not UTF-8" in response.content.decode()


def test_the_booking_list_links_to_the_import(admin_client):
    page = admin_client.get(reverse("admin:bookings_booking_changelist")).content.decode()
    assert reverse("admin:bookings_booking_import_csv") in page


def test_staff_who_cannot_add_bookings_cannot_import(client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    client.force_login(viewer)
    assert client.get(reverse("admin:bookings_booking_import_csv")).status_code == 403
