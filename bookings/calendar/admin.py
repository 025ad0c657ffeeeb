"""Admin of the calendar: local entries, feed tokens (issue, show URL, revoke), drift findings."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html

from charterops.admin import ReadOnlyAdmin

from .drift import calendar_drift_rows_fix
from .feed import calendar_feed_token_issue, calendar_feed_token_revoke, calendar_feed_url
from .models import CalendarDrift, CalendarEntry, CalendarFeedToken


@admin.register(CalendarEntry)
class CalendarEntryAdmin(ReadOnlyAdmin):
    list_display = ["summary", "start", "end", "sequence", "cancelled"]
    list_filter = ["cancelled"]
    search_fields = ["summary", "uid"]
    date_hierarchy = "start"


class FeedStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(CalendarFeedToken)
class CalendarFeedTokenAdmin(admin.ModelAdmin):
    """Issue a feed for a staff member, a crew member or a boat; its URL shows once issued."""

    list_display = ["__str__", "user", "boat", "feed_url", "created_at", "revoked_at"]
    list_filter = [FeedStateFilter, "boat"]
    list_select_related = ["user", "boat"]
    search_fields = ["user__username", "boat__name"]
    autocomplete_fields = ["boat"]
    actions = ["revoke_tokens"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "boat"]
        return ["user", "boat", "feed_url", "created_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        # A token's scope is fixed: revoke it and issue another instead.
        return [] if obj is None else ["user", "boat", "feed_url", "created_at", "revoked_at"]

    @admin.display(description="feed URL")
    def feed_url(self, obj: CalendarFeedToken) -> str:
        if obj.revoked_at is not None:
            return "revoked"
        url = calendar_feed_url(obj)
        webcal = url.replace("https://", "webcal://", 1).replace("http://", "webcal://", 1)
        return format_html('<code>{}</code> <a href="{}">subscribe</a>', url, webcal)

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing is editable on an issued token
        issued = calendar_feed_token_issue(
            user=form.cleaned_data.get("user"),
            boat=form.cleaned_data.get("boat"),
            actor=request.user,
        )
        obj.pk, obj.token, obj.created_at = issued.pk, issued.token, issued.created_at
        obj._state.adding = False
        self.message_user(
            request, f"Feed issued. Subscribe with {calendar_feed_url(issued)}", messages.SUCCESS
        )

    @admin.action(
        description="Revoke the selected feeds (their URLs stop working)", permissions=["change"]
    )
    def revoke_tokens(self, request, queryset):
        revoked = sum(calendar_feed_token_revoke(t, actor=request.user) for t in queryset)
        self.message_user(request, f"Revoked {revoked} feed(s).", messages.SUCCESS)


class OpenFilter(admin.SimpleListFilter):
    title = "open"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", "Open (latest run)"), ("no", "Fixed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(fixed_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(fixed_at__isnull=False)
        return queryset


@admin.register(CalendarDrift)
class CalendarDriftAdmin(ReadOnlyAdmin):
    """What the nightly ``calendar_reconcile`` found; fixing goes through the engine."""

    list_display = ["found_at", "kind", "booking", "message", "event_id", "fixed_at"]
    list_filter = [OpenFilter, "kind", "backend"]
    search_fields = ["message", "event_id", "booking__external_id", "booking__guest_name"]
    list_select_related = ["booking"]
    date_hierarchy = "found_at"
    actions = ["fix_findings"]
    list_per_page = 100

    @admin.action(
        description="Fix the selected findings (re-sync through the engine)", permissions=["fix"]
    )
    def fix_findings(self, request, queryset):
        report = calendar_drift_rows_fix(
            list(queryset.select_related("booking__boat")), actor=request.user
        )
        self.message_user(
            request,
            f"Re-synced {len(report.requeued_bookings)} booking(s), "
            f"deleted {len(report.deleted_events)} event(s).",
            messages.SUCCESS,
        )

    def has_fix_permission(self, request) -> bool:
        return request.user.has_perm("bookings.change_booking")
