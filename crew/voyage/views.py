"""Crew page views of the departure and return record: plain forms, no JavaScript needed.

Each view parses the form, checks it (without saving), stores the photos sent with it,
then calls one domain function and redirects back to the charter page; a refused form is
shown again with the member's values and a sentence per field (status 400).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from bookings.photos.uploads import UploadRefused, photo_upload_direct

from ..magic_link_views import crew_link_required
from .forms import DepartureForm, ReturnForm, form_add_errors
from .records import (
    RecordRefused,
    boat_local,
    voyage_departure_clean,
    voyage_departure_record,
    voyage_return_clean,
    voyage_return_record,
)
from .section import voyage_section_context

MAX_PHOTOS = 12


def _page(booking_id: int) -> str:
    return reverse("crew:event", args=[booking_id]) + "#voyage"


def _store_photos(request: HttpRequest) -> list:
    files = request.FILES.getlist("record_photos")[:MAX_PHOTOS]
    photos = []
    for upload in files:
        try:
            photos.append(
                photo_upload_direct(
                    request.crew_assignment.booking,
                    uploader="crew",
                    file=upload,
                    member=request.crew_member,
                )
            )
        except UploadRefused as exc:
            messages.error(request, f"{upload.name}: {exc}")
    return photos


def _again(request: HttpRequest, *, stage: str, form) -> HttpResponse:
    assignment = request.crew_assignment
    context = voyage_section_context(assignment)
    context[f"{stage}_form"] = form
    return render(
        request,
        "crew/voyage_form.html",
        {**context, "assignment": assignment, "booking": assignment.booking, "stage": stage},
        status=400,
    )


def _refused(request: HttpRequest, booking_id: int, message: str) -> HttpResponse:
    messages.error(request, message)
    return redirect(_page(booking_id))


@require_POST
@crew_link_required
def voyage_departure(request: HttpRequest, booking_id: int) -> HttpResponse:
    """Record (or correct) the departure."""
    booking = request.crew_assignment.booking
    form = DepartureForm(request.POST)
    if not form.is_valid():
        return _again(request, stage="departure", form=form)
    values = {
        "fuel": form.cleaned_data["fuel_out"],
        "engine_hours": form.cleaned_data["engine_hours_out"],
        "headcount": form.cleaned_data["headcount"],
        "orientation_given": form.cleaned_data["orientation_given"],
        "condition": form.cleaned_data["condition_out"],
    }
    try:
        voyage_departure_clean(booking, **values)
        record = voyage_departure_record(
            request.crew_assignment, photos=_store_photos(request), actor=request.user, **values
        )
    except RecordRefused as exc:
        return _refused(request, booking_id, str(exc))
    except ValidationError as exc:
        form_add_errors(form, exc)
        return _again(request, stage="departure", form=form)
    departed = boat_local(record.departed_at, booking.boat)
    messages.success(request, f"Departure recorded at {departed:%-I:%M %p}. Have a good trip.")
    return redirect(_page(booking_id))


@require_POST
@crew_link_required
def voyage_return(request: HttpRequest, booking_id: int) -> HttpResponse:
    """Record (or correct) the return; the record PDF follows."""
    booking = request.crew_assignment.booking
    form = ReturnForm(request.POST)
    if not form.is_valid():
        return _again(request, stage="return", form=form)
    values = {
        "fuel": form.cleaned_data["fuel_in"],
        "engine_hours": form.cleaned_data["engine_hours_in"],
        "condition": form.cleaned_data["condition_in"],
        "damage": form.cleaned_data["damage"],
        "damage_notes": form.cleaned_data["damage_notes"],
    }
    try:
        voyage_return_clean(booking, **values)
        voyage_return_record(
            request.crew_assignment, photos=_store_photos(request), actor=request.user, **values
        )
    except RecordRefused as exc:
        return _refused(request, booking_id, str(exc))
    except ValidationError as exc:
        form_add_errors(form, exc)
        return _again(request, stage="return", form=form)
    messages.success(request, "Return recorded. The charter record goes to the office.")
    return redirect(_page(booking_id))
