"""Crew pages, reached by magic link: the charter's operations page and its small actions.

Every view is thin: parse, call one domain function, redirect (plain forms) or answer JSON
(the page's JavaScript asks with ``Accept: application/json``). Every view is wrapped in
``crew_link_required``: a member only ever reaches their own assignment's charter.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from bookings.models import Booking
from bookings.photos.models import Photo
from bookings.photos.uploads import (
    UploadRefused,
    photo_upload_confirm,
    photo_upload_direct,
    photo_upload_grant,
    photo_view_url,
)
from charterops.readiness import READINESS_CHECKS

from .assignments import ResponseRefused, crew_assignment_respond
from .checklist import (
    checklist_item_complete,
    checklist_item_uncomplete,
    checklist_progress,
    checklist_progress_of,
)
from .expenses import (
    ExpenseRefused,
    expense_delete,
    expense_record,
    expense_update,
    mileage_amount,
    mileage_rate,
)
from .forms import ExpenseForm
from .magic_link_views import SESSION_KEY, crew_link_required
from .magic_links import crew_magic_link
from .models import ChecklistItem, CrewAssignment, Expense, Phase


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _page(booking_id: int, anchor: str = "") -> str:
    url = reverse("crew:event", args=[booking_id])
    return f"{url}#{anchor}" if anchor else url


def _refuse(request: HttpRequest, message: str, *, anchor: str = "", status: int = 400):
    if _wants_json(request):
        return JsonResponse({"error": message}, status=status)
    messages.error(request, message)
    return redirect(_page(request.crew_assignment.booking_id, anchor))


def _can_act(request: HttpRequest) -> str:
    """Why this member may not change the charter's records now, or ''."""
    assignment = request.crew_assignment
    if assignment.booking.is_ended:
        return "This charter was cancelled."
    if assignment.response == CrewAssignment.Response.DECLINED:
        return "You declined this charter."
    return ""


def _crew(booking) -> list[CrewAssignment]:
    return list(booking.assignments.select_related("member").order_by("role", "member__name"))


def _photo_json(photo: Photo) -> dict[str, Any]:
    return {"id": photo.pk, "key": photo.key, "url": photo_view_url(photo)}


@require_GET
@crew_link_required
def crew_event(request: HttpRequest, booking_id: int) -> HttpResponse:
    """The charter's operations page: details, answer, checklist, photos, expenses."""
    assignment = request.crew_assignment
    booking = assignment.booking
    crew = _crew(booking)
    items = list(booking.checklist_items.select_related("done_by"))
    photos = list(
        booking.photos.filter(uploaded_by=Photo.Uploader.CREW, hidden=False).select_related(
            "member"
        )
    )
    expenses = list(Expense.objects.filter(booking=booking, member=assignment.member))
    on_board = [a for a in crew if a.response != CrewAssignment.Response.DECLINED]
    return render(
        request,
        "crew/event.html",
        {
            "assignment": assignment,
            "booking": booking,
            "crew": crew,
            "pre_items": [i for i in items if i.phase == Phase.PRE],
            "post_items": [i for i in items if i.phase == Phase.POST],
            "progress": checklist_progress_of(items),
            "photos": [(p, photo_view_url(p)) for p in photos],
            "expenses": expenses,
            "form": ExpenseForm(crew=on_board, initial={"kind": Expense.Kind.MILEAGE}),
            "mileage_rate": mileage_rate(),
            "blocked": _can_act(request),
            "started": timezone.now() >= booking.start,
            "sections": [
                {"template": c.crew_template, **c.crew_context(booking)}
                for c in READINESS_CHECKS.values()
                if c.crew_template and c.crew_context is not None
            ],
        },
    )


@require_POST
@crew_link_required
def crew_respond(request: HttpRequest, booking_id: int) -> HttpResponse:
    """Accept or decline the invitation (plain form)."""
    try:
        changed = crew_assignment_respond(
            request.crew_assignment, response=request.POST.get("response", ""), actor=request.user
        )
    except ResponseRefused as exc:
        return _refuse(request, str(exc))
    if changed:
        accepted = request.crew_assignment.response == CrewAssignment.Response.ACCEPTED
        messages.success(
            request, "Thanks, see you on board." if accepted else "Thanks, the office is told."
        )
    return redirect(_page(booking_id))


@require_POST
@crew_link_required
def crew_checklist_tick(request: HttpRequest, booking_id: int, item_id: int) -> HttpResponse:
    """Tick or un-tick one checklist item, with an optional note."""
    item = get_object_or_404(
        ChecklistItem.objects.select_related("booking"), pk=item_id, booking_id=booking_id
    )
    if reason := _can_act(request):
        return _refuse(request, reason, anchor=f"item-{item.pk}", status=403)
    if item.auto_key:
        return _refuse(
            request, f"“{item.text}” ticks itself.", anchor=f"item-{item.pk}", status=400
        )
    member = request.crew_member
    if request.POST.get("action") == "undo":
        checklist_item_uncomplete(item, member=member, actor=request.user)
    else:
        checklist_item_complete(
            item, member=member, note=request.POST.get("note", ""), actor=request.user
        )
    if _wants_json(request):
        progress = checklist_progress(item.booking)
        done_at = timezone.localtime(item.done_at) if item.done_at else None
        return JsonResponse(
            {
                "id": item.pk,
                "done": item.done,
                "done_by": item.done_by.name if item.done_by else "",
                "done_at": done_at.strftime("%-I:%M %p") if done_at else "",
                "note": item.note,
                "progress": {
                    "done": progress.done,
                    "total": progress.total,
                    "ready": progress.ready,
                    "text": str(progress),
                },
            }
        )
    return redirect(_page(booking_id, f"item-{item.pk}"))


def _upload_args(request: HttpRequest) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            return json.loads(request.body or b"{}")
        except ValueError:
            return {}
    return request.POST.dict()


@require_POST
@crew_link_required
def crew_photo_grant(request: HttpRequest, booking_id: int) -> HttpResponse:
    """A presigned upload grant for one photo (JSON); the browser then posts the file."""
    if reason := _can_act(request):
        return JsonResponse({"error": reason}, status=403)
    args = _upload_args(request)
    try:
        size = int(args.get("size") or 0)
    except (TypeError, ValueError):
        size = 0
    try:
        grant = photo_upload_grant(
            request.crew_assignment.booking,
            uploader="crew",
            filename=str(args.get("filename", "")),
            content_type=str(args.get("content_type", "")),
            size=size,
            member=request.crew_member,
        )
    except UploadRefused as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(grant)


@require_POST
@crew_link_required
def crew_photo_confirm(request: HttpRequest, booking_id: int) -> HttpResponse:
    """Record an uploaded photo after the store confirms it exists (JSON)."""
    if reason := _can_act(request):
        return JsonResponse({"error": reason}, status=403)
    try:
        photo = photo_upload_confirm(
            request.crew_assignment.booking,
            key=str(_upload_args(request).get("key", "")),
            uploader="crew",
            member=request.crew_member,
        )
    except UploadRefused as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(_photo_json(photo), status=201)


@require_POST
@crew_link_required
def crew_photo_upload(request: HttpRequest, booking_id: int) -> HttpResponse:
    """Without JavaScript: the photos come to the app in the form and are stored from here."""
    if reason := _can_act(request):
        return _refuse(request, reason, anchor="photos", status=403)
    files = request.FILES.getlist("photos")
    if not files:
        return _refuse(request, "Choose one or more photos first.", anchor="photos")
    stored = 0
    for upload in files:
        try:
            photo_upload_direct(
                request.crew_assignment.booking,
                uploader="crew",
                file=upload,
                member=request.crew_member,
            )
            stored += 1
        except UploadRefused as exc:
            messages.error(request, f"{upload.name}: {exc}")
    if stored:
        messages.success(request, f"{stored} photo(s) uploaded.")
    return redirect(_page(booking_id, "photos"))


def _expense_kwargs(form: ExpenseForm) -> dict[str, Any]:
    values = form.values
    return {
        "kind": values["kind"],
        "amount": values.get("amount"),
        "miles": values.get("miles"),
        "split": values.get("split") or None,
        "note": form.cleaned_data.get("note", ""),
    }


def _receipt_key(request: HttpRequest, form: ExpenseForm) -> str:
    """The receipt: uploaded by the page's JavaScript (key), or sent in this form."""
    upload = form.cleaned_data.get("receipt")
    if upload:
        photo = photo_upload_direct(
            request.crew_assignment.booking,
            uploader="crew",
            file=upload,
            member=request.crew_member,
        )
        return photo.key
    return form.cleaned_data.get("receipt_key", "")


def _render_expense_form(request, form, *, expense=None, status=200) -> HttpResponse:
    assignment = request.crew_assignment
    preview = None
    if form.is_bound and form.is_valid() and form.values.get("miles") is not None:
        preview = mileage_amount(form.values["miles"])
    return render(
        request,
        "crew/expense_form.html",
        {
            "assignment": assignment,
            "booking": assignment.booking,
            "form": form,
            "expense": expense,
            "preview": preview,
            "mileage_rate": mileage_rate(),
        },
        status=status,
    )


def _on_board(request: HttpRequest) -> list[CrewAssignment]:
    return [
        a
        for a in _crew(request.crew_assignment.booking)
        if a.response != CrewAssignment.Response.DECLINED
    ]


@require_POST
@crew_link_required
def crew_expense_create(request: HttpRequest, booking_id: int) -> HttpResponse:
    """Log an expense; ``preview`` shows the computed mileage amount before saving."""
    if reason := _can_act(request):
        return _refuse(request, reason, anchor="expenses", status=403)
    form = ExpenseForm(request.POST, request.FILES, crew=_on_board(request))
    if not form.is_valid() or "preview" in request.POST:
        return _render_expense_form(request, form, status=200 if form.is_valid() else 400)
    try:
        expense_record(
            request.crew_assignment,
            receipt_key=_receipt_key(request, form),
            **_expense_kwargs(form),
        )
    except (ValidationError, UploadRefused, ExpenseRefused) as exc:
        form.add_error(None, exc.messages if isinstance(exc, ValidationError) else str(exc))
        return _render_expense_form(request, form, status=400)
    messages.success(request, "Expense saved. You can change it until the office approves it.")
    return redirect(_page(booking_id, "expenses"))


def _own_expense(request: HttpRequest, booking_id: int, expense_id: int) -> Expense:
    # Another member's entry, or one of another charter, is simply not found (404).
    return get_object_or_404(
        Expense, pk=expense_id, booking_id=booking_id, member=request.crew_member
    )


@crew_link_required
def crew_expense_edit(request: HttpRequest, booking_id: int, expense_id: int) -> HttpResponse:
    """Change one's own entry until it is approved."""
    expense = _own_expense(request, booking_id, expense_id)
    crew = _on_board(request)
    if expense.approved_at is not None:
        messages.info(request, "This entry was approved; ask the office to change it.")
        return redirect(_page(booking_id, "expenses"))
    if request.method != "POST":
        initial = {
            "kind": expense.kind,
            "miles": expense.miles,
            "amount": expense.amount if expense.kind != Expense.Kind.MILEAGE else "",
            "note": expense.note,
            "receipt_key": expense.receipt_key,
            "split_mode": "custom" if expense.split else "equal",
            **{f"share_{pk}": v for pk, v in (expense.split or {}).items()},
        }
        return _render_expense_form(
            request, ExpenseForm(initial=initial, crew=crew), expense=expense
        )
    form = ExpenseForm(request.POST, request.FILES, crew=crew)
    if not form.is_valid() or "preview" in request.POST:
        status = 200 if form.is_valid() else 400
        return _render_expense_form(request, form, expense=expense, status=status)
    try:
        expense_update(
            expense,
            member=request.crew_member,
            receipt_key=_receipt_key(request, form),
            **_expense_kwargs(form),
        )
    except (ValidationError, UploadRefused) as exc:
        form.add_error(None, exc.messages if isinstance(exc, ValidationError) else str(exc))
        return _render_expense_form(request, form, expense=expense, status=400)
    except ExpenseRefused as exc:
        return _refuse(request, str(exc), anchor="expenses", status=403)
    messages.success(request, "Expense updated.")
    return redirect(_page(booking_id, "expenses"))


@require_POST
@crew_link_required
def crew_expense_delete(request: HttpRequest, booking_id: int, expense_id: int) -> HttpResponse:
    expense = _own_expense(request, booking_id, expense_id)
    try:
        expense_delete(expense, member=request.crew_member)
    except ExpenseRefused as exc:
        return _refuse(request, str(exc), anchor="expenses", status=403)
    messages.success(request, "Expense removed.")
    return redirect(_page(booking_id, "expenses"))


@require_GET
@crew_link_required
def crew_charters(request: HttpRequest, booking_id: int) -> HttpResponse:
    """The member's own upcoming charters, each with a link that opens it."""
    member = request.crew_member
    granted = request.session.get(SESSION_KEY, {})
    assignments = (
        CrewAssignment.objects.filter(
            member=member,
            booking__end__gte=timezone.now(),
            booking__status__in=Booking.LIVE_STATUSES,
        )
        .exclude(response=CrewAssignment.Response.DECLINED)
        .select_related("booking__boat", "member__user")
        .order_by("booking__start")
    )
    rows = []
    for a in assignments:
        if str(a.booking_id) in granted:
            link = reverse("crew:event", args=[a.booking_id])
        else:
            # The member's own link, made for them here; relative, for this very site.
            link = crew_magic_link(a).removeprefix(settings.SITE_URL)
        rows.append((a, link))
    return render(
        request,
        "crew/charters.html",
        {"assignment": request.crew_assignment, "member": member, "rows": rows},
    )
