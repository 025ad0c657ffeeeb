"""Admin surfaces of booking intake: CSV import page, delivery replay, tokens shown once.

Kept out of ``bookings/admin.py`` so that file stays a list of registrations; the admin
classes there mix these in.
"""

from __future__ import annotations

import base64

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse

from ..models import ApiToken, Booking
from ..tokens import DEFAULT_DAYS, TokenNameTaken, api_token_issue, api_token_revoke
from . import sources_configured
from .csv_import import CsvFormatError, bookings_import_csv, csv_template, csv_text
from .webhook import webhook_delivery_replay

MAX_CSV_BYTES = 5 * 1024 * 1024


class CsvImportForm(forms.Form):
    file = forms.FileField(
        required=False, help_text="UTF-8 CSV with a header row (download the template below)."
    )
    # After a dry run the same file comes back in this field, so "Import" imports what was previewed.
    payload = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload:
            if upload.size > MAX_CSV_BYTES:
                raise forms.ValidationError("The file is larger than 5 MB; split it.")
            raw = upload.read()
        elif data.get("payload"):
            try:
                raw = base64.b64decode(data["payload"], validate=True)
            except ValueError:
                raise forms.ValidationError(
                    "The previewed file was damaged; upload it again."
                ) from None
        else:
            raise forms.ValidationError("Choose a CSV file.")
        try:
            data["text"] = csv_text(raw)
        except CsvFormatError as exc:
            raise forms.ValidationError(str(exc)) from None
        data["raw"] = raw
        return data


class BookingImportMixin:
    """Adds "Import CSV" to the booking admin: upload, dry-run preview, then import."""

    change_list_template = "admin/bookings/booking/change_list.html"

    def get_urls(self):
        extra = [
            path(
                "import-csv/",
                self.admin_site.admin_view(self.import_csv_view),
                name="bookings_booking_import_csv",
            ),
            path(
                "import-csv/template.csv",
                self.admin_site.admin_view(self.import_csv_template_view),
                name="bookings_booking_import_csv_template",
            ),
        ]
        return extra + super().get_urls()

    def import_csv_template_view(self, request: HttpRequest) -> HttpResponse:
        response = HttpResponse(csv_template(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="bookings-template.csv"'
        return response

    def import_csv_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request) or not self.has_change_permission(request):
            raise PermissionDenied
        report = None
        payload = ""
        form = CsvImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            dry_run = "apply" not in request.POST
            try:
                report = bookings_import_csv(
                    form.cleaned_data["text"], actor=request.user, dry_run=dry_run
                )
            except CsvFormatError as exc:
                form.add_error(None, str(exc))
            else:
                if dry_run:
                    payload = base64.b64encode(form.cleaned_data["raw"]).decode()
                else:
                    counts = ", ".join(f"{n} {o}" for o, n in report.counts.items() if n)
                    self.message_user(
                        request, f"Imported: {counts or 'nothing'}.", messages.SUCCESS
                    )
        return TemplateResponse(
            request,
            "admin/bookings/booking/import_csv.html",
            {
                **self.admin_site.each_context(request),
                "title": "Import bookings from CSV",
                "opts": self.model._meta,
                "form": form,
                "report": report,
                "payload": payload,
                "template_url": reverse("admin:bookings_booking_import_csv_template"),
            },
        )


class DeliveryReplayMixin:
    """The read-only delivery admin's one write: re-process the selected deliveries."""

    actions = ["replay_deliveries"]

    @admin.action(description="Replay (re-process) the selected deliveries", permissions=["replay"])
    def replay_deliveries(self, request, queryset):
        outcomes: dict[str, int] = {}
        for delivery in queryset.order_by("received_at", "id"):
            result = webhook_delivery_replay(delivery, actor=request.user)
            outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        summary = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items()))
        self.message_user(request, f"Replayed {queryset.count()} delivery(ies): {summary}.")

    def has_replay_permission(self, request) -> bool:
        return request.user.has_perm("bookings.change_booking")


class ApiTokenIssueForm(forms.ModelForm):
    days = forms.IntegerField(
        initial=DEFAULT_DAYS, min_value=1, max_value=366, help_text="Valid for this many days."
    )

    class Meta:
        model = ApiToken
        fields = ["name"]


class ApiTokenAdminMixin:
    """Tokens are issued here and shown exactly once; afterwards only the prefix is visible."""

    actions = ["revoke_tokens"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenIssueForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "days"]
        return [
            "name",
            "prefix",
            "created_by",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "revoked_by",
        ]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            token, raw = api_token_issue(
                form.cleaned_data["name"], days=form.cleaned_data["days"], actor=request.user
            )
        except TokenNameTaken as exc:  # a race with another issuer; the form checked first
            raise PermissionDenied(str(exc)) from None
        obj.pk = token.pk
        obj._state.adding = False
        obj._raw_token = raw

    def response_add(self, request, obj, post_url_continue=None):
        raw = getattr(obj, "_raw_token", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        token = ApiToken.objects.get(pk=obj.pk)
        response = TemplateResponse(
            request,
            "admin/bookings/apitoken/issued.html",
            {
                **self.admin_site.each_context(request),
                "title": "Token issued",
                "opts": self.model._meta,
                "token": token,
                "raw": raw,
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        revoked = sum(api_token_revoke(t, actor=request.user) for t in queryset)
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)


class SourceFilter(admin.SimpleListFilter):
    """Filter by source: every configured source (bookings.intake.sources), no query for the
    list, plus any other value a stored row holds when it is the one asked for."""

    title = "source"
    parameter_name = "source"

    def lookups(self, request, model_admin):
        names = sources_configured()
        if self.value() and self.value() not in names:
            names.append(self.value())  # e.g. a legacy "other" row linked from elsewhere
        return [
            (name, Booking.Source(name).label if name in Booking.Source else name) for name in names
        ]

    def queryset(self, request, queryset):
        return queryset.filter(source=self.value()) if self.value() else queryset
