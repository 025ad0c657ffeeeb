"""The record on the staff side: the booking's record and PDF versions, the boat's readings.

Registered as sections of the hub's admins (``bookings.admin_sections``; this module is
imported by ``crew/admin.py``): on the booking admin a "Departure and return" section and a
PDF download per version; on the boat admin the boat's upkeep settings inline, its
engine-hour and fuel history, and the service warning.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from bookings.admin_sections import AdminSection, admin_section_register
from bookings.marketplace.rules import claim_deadline, format_time_left, marketplace_rules_for
from bookings.models import Boat, Booking

from .documents import voyage_document_bytes
from .models import BoatUpkeep, VoyageDocument, VoyageRecord
from .readings import boat_readings, boat_service_status
from .records import boat_local


def _reading(value, suffix: str = "") -> str:
    return "—" if value is None else f"{value.normalize():f}{suffix}"


def _local(moment, boat) -> str:
    local = boat_local(moment, boat)
    return local.strftime("%a %b %-d %Y, %-I:%M %p %Z") if local else "—"


def claim_countdown(booking, record: VoyageRecord) -> str:
    """When the marketplace claim for the reported damage is due, and the time left."""
    rules = marketplace_rules_for(booking.source)
    if rules is None:
        return "No marketplace claim window for this source."
    deadline = claim_deadline(booking, rules, ended_at=record.returned_at)
    left = deadline - timezone.now()
    when = _local(deadline, record.boat)
    if left.total_seconds() <= 0:
        return f"{when}: the claim window has CLOSED."
    return f"{when}: {format_time_left(left)} left to file the claim."


def booking_voyage_urls(model_admin) -> list:
    """The record PDF of one version, under the booking admin."""
    info = model_admin.model._meta.app_label, model_admin.model._meta.model_name

    def view(request, booking_id: int, version: int) -> HttpResponse:
        return voyage_document_view(model_admin, request, booking_id, version)

    return [
        path(
            "<int:booking_id>/record/<int:version>/",
            model_admin.admin_site.admin_view(view),
            name="{}_{}_voyage_document".format(*info),
        )
    ]


def voyage_document_view(model_admin, request, booking_id: int, version: int) -> HttpResponse:
    """One stored version of the record PDF, for staff who may view the booking."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    document = get_object_or_404(
        VoyageDocument.objects.select_related("record__booking"),
        record__booking_id=booking_id,
        version=version,
    )
    if document.status != VoyageDocument.Status.DONE:
        raise Http404("This version is not rendered yet.")
    response = HttpResponse(voyage_document_bytes(document), content_type="application/pdf")
    name = document.key.rsplit("/", 1)[-1]
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@admin.display(description="record")
def voyage_record_display(model_admin, obj):
    record = (
        VoyageRecord.objects.filter(booking=obj)
        .select_related("boat__upkeep", "departed_by", "returned_by")
        .first()
    )
    if record is None:
        return "Nothing recorded yet: the crew record departure and return on their page."
    boat = record.boat
    suffix = getattr(getattr(boat, "upkeep", None), "fuel_suffix", " %")
    rows = [
        (
            "Departed",
            f"{_local(record.departed_at, boat)} · "
            f"{record.departed_by.name if record.departed_by else '—'}",
        ),
        (
            "Out: fuel · engine hours",
            f"{_reading(record.fuel_out, suffix)} · {_reading(record.engine_hours_out)} h",
        ),
        ("Guests aboard", f"{record.headcount} of {record.headcount_expected} expected"),
        ("Safety orientation", "given" if record.orientation_given else "not given"),
        (
            "Back",
            f"{_local(record.returned_at, boat)} · "
            f"{record.returned_by.name if record.returned_by else '—'}",
        ),
        (
            "In: fuel · engine hours",
            f"{_reading(record.fuel_in, suffix)} · {_reading(record.engine_hours_in)} h",
        ),
        ("Damage", f"YES: {record.damage_notes}" if record.damage else "none"),
    ]
    if record.damage:
        rows.append(("Claim due", claim_countdown(obj, record)))
    documents = list(record.documents.all())
    links = format_html_join(
        "",
        '<li data-record-version="{}">{}</li>',
        ((d.version, _document_line(model_admin, obj, d)) for d in documents),
    )
    return format_html(
        '<table class="voyage-record">{}</table><h4>Record PDF</h4><ul>{}</ul>',
        format_html_join("", '<tr><th scope="row">{}</th><td>{}</td></tr>', rows),
        links or format_html("<li>{}</li>", "Made when the return is recorded."),
    )


def _document_line(model_admin, booking, document: VoyageDocument):
    info = model_admin.model._meta.app_label, model_admin.model._meta.model_name
    mail = ""
    if document.mail_status:
        mail = f" · damage email to operations: {document.get_mail_status_display().lower()}"
    if document.status != VoyageDocument.Status.DONE:
        return format_html(
            "Version {} ({}): {}{}",
            document.version,
            document.reason,
            document.get_status_display().lower(),
            document.error and f" ({document.error})",
        )
    url = reverse("admin:{}_{}_voyage_document".format(*info), args=[booking.pk, document.version])
    return format_html(
        '<a href="{}" target="_blank" rel="noopener">Record PDF, version {}</a> ({}, {}){}',
        url,
        document.version,
        document.reason,
        _local(document.rendered_at, booking.boat),
        mail,
    )


class BoatUpkeepInline(admin.StackedInline):
    model = BoatUpkeep
    can_delete = False
    extra = 1
    max_num = 1
    fields = [
        "time_zone",
        ("fuel_unit", "tank_capacity"),
        ("service_interval_hours", "last_service_engine_hours"),
    ]


def boat_service_warn(request, boat) -> None:
    """On the boat page: a warning when the boat's engine service is due."""
    from django.contrib import messages

    status = boat_service_status(boat)
    if status.due:
        messages.warning(request, status.message)


@admin.display(description="readings (latest first)")
def readings_display(model_admin, obj):
    readings = boat_readings(obj, limit=50)
    if not readings:
        return "No departure or return recorded on this boat yet."
    status = boat_service_status(obj)
    rows = format_html_join(
        "",
        "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                format_html(' class="service-crossed" data-service-crossed="{}"', r.booking_id)
                if r.crossed_service
                else "",
                r.when.strftime("%Y-%m-%d"),
                r.reference,
                _reading(r.engine_hours_out),
                _reading(r.engine_hours_in),
                _reading(r.hours_run),
                _reading(r.fuel_out, r.fuel_suffix),
                _reading(r.fuel_in, r.fuel_suffix),
            )
            for r in readings
        ),
    )
    return format_html(
        '<p data-service-status="{}"><strong>{}</strong></p>'
        '<table class="boat-readings"><thead><tr><th>day</th><th>charter</th>'
        "<th>engine h out</th><th>engine h in</th><th>run</th><th>fuel out</th>"
        "<th>fuel in</th></tr></thead><tbody>{}</tbody></table>",
        "due" if status.due else "ok",
        status.message,
        rows,
    )


admin_section_register(
    Booking,
    AdminSection(
        key="crew.voyage",
        order=20,
        displays=[voyage_record_display],
        fieldset=("Departure and return", ["voyage_record_display"]),
        urls=booking_voyage_urls,
    ),
)
admin_section_register(
    Boat,
    AdminSection(
        key="crew.voyage",
        order=20,
        inlines=[BoatUpkeepInline],
        displays=[readings_display],
        fields=["readings_display"],
        change_view_get=boat_service_warn,
    ),
)
