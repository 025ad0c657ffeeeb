"""Admin for boats and bookings: the dispatcher's desk.

Crew and guest pages add their inlines, columns, filters, actions, URLs and page sections
through ``bookings.admin_sections`` (registered from their own ``admin.py``): this module
imports no spoke.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Prefetch
from django.template.response import TemplateResponse
from django.utils import timezone

from charterops.admin import LabelledInlinesMixin, ReadOnlyAdmin, state_badges_compact
from charterops.admin_lists import ScalableListMixin, fixed_choices_filter
from charterops.fanout.engine import booking_fanout_retry
from charterops.models import TargetState

from .admin_sections import ContributedSectionsMixin
from .booking_page_admin import BookingPageMixin
from .calendar import admin as calendar_admin  # noqa: F401  (calendar entries, feed tokens, drift)
from .double_booking_admin import (
    SAVE_DESPITE_OVERLAP,
    BookingDoubleBookingForm,
    DoubleBookedFilter,
    double_booked_badge,
    double_booked_warn,
)
from .intake import EVENT_TYPES
from .intake.admin import (
    ApiTokenAdminMixin,
    BookingImportMixin,
    DeliveryReplayMixin,
    SourceFilter,
)
from .intake.mail.admin import BookingFromEmailMixin
from .marketplace.admin import BookingMarketplaceMixin
from .models import ApiToken, Boat, Booking, WebhookDelivery
from .photos import admin as photos_admin  # noqa: F401  (photos, crew's and guests')
from .search import booking_search
from .services import booking_cancel, booking_create, booking_update
from .week_board_admin import WeekBoardAdminMixin


@admin.register(Boat)
class BoatAdmin(ContributedSectionsMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "home_marina", "capacity", "active"]
    list_filter = ["active"]
    search_fields = ["name", "slug", "external_id", "home_marina"]
    prepopulated_fields = {"slug": ["name"]}


class WhenFilter(admin.SimpleListFilter):
    title = "when"
    parameter_name = "when"

    def lookups(self, request, model_admin):
        return [("today", "Today"), ("upcoming", "Upcoming"), ("past", "Past")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "upcoming":
            return queryset.filter(end__gte=now)
        if self.value() == "past":
            return queryset.filter(end__lt=now)
        if self.value() == "today":
            local = timezone.localtime(now)
            start = local.replace(hour=0, minute=0, second=0, microsecond=0)
            return queryset.filter(start__gte=start, start__lt=start + timezone.timedelta(days=1))
        return queryset


_FANOUT_BADGES: dict[tuple, str] = {}


def _fanout_badges(key: tuple, states) -> str:
    """The badges of a booking's fan-out rows, rendered once per distinct (target, status,
    error) combination: fifty rows of a page mostly share one ("all done"), and rendering
    each badge through ``format_html`` was ~5 ms of the list."""
    badges = _FANOUT_BADGES.get(key)
    if badges is None:
        if len(_FANOUT_BADGES) >= 512:
            _FANOUT_BADGES.clear()
        badges = _FANOUT_BADGES[key] = state_badges_compact(states)
    return badges


@admin.register(Booking)
class BookingAdmin(
    WeekBoardAdminMixin,
    BookingImportMixin,
    BookingFromEmailMixin,
    BookingPageMixin,
    BookingMarketplaceMixin,
    ContributedSectionsMixin,
    ScalableListMixin,
    LabelledInlinesMixin,
    admin.ModelAdmin,
):
    list_display = [
        "reference_display",
        "guest_name",
        "boat",
        "local_start",
        "status",
        "party_display",
        "fanout",
    ]
    list_display_links = ["reference_display", "guest_name"]
    list_filter = [
        WhenFilter,
        "status",
        "boat",
        SourceFilter,
        DoubleBookedFilter,
    ]
    # Read by booking_search (get_search_results): these columns, meeting point and crew names.
    search_fields = ["external_id", "guest_name", "guest_email", "guest_phone", "meeting_point"]
    search_help_text = "Reference, guest name, email or phone, meeting point, or a crew name."
    date_hierarchy = "start"
    list_select_related = ["boat"]
    list_per_page = 50
    ordering = ["-start"]
    autocomplete_fields = ["boat"]
    # The inlines come from the sections (crew, guest pages; the payout from the marketplace
    # mixin). The fan-out rows and the contributed histories are read-only tables after them
    # (BookingPageMixin); a compact inline's formset opens with ?edit=<key>.
    readonly_fields = ["version", "created_at", "updated_at", "last_event_at"]

    class Media:
        css = {"all": ["charterops/admin.css"]}

    actions = ["sync_now", "retry_failed", "cancel_bookings"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("source", "external_id"),
                    "status",
                    "boat",
                    ("start", "end"),
                    "meeting_point",
                ]
            },
        ),
        (
            "Guest",
            {
                "fields": [
                    "guest_name",
                    ("guest_email", "guest_phone"),
                    ("party_size", "captain_required"),
                    "special_requests",
                ]
            },
        ),
        (
            "Money",
            {
                "fields": [
                    "currency",
                    ("boat_price", "service_fee"),
                    ("captain_fee", "owner_payout"),
                ]
            },
        ),
        (
            "Record",
            {
                "fields": [("version", "last_event_at"), ("created_at", "updated_at")],
                "classes": ["collapse"],
            },
        ),
    ]

    # Its Save anyway question is shown by the change form template, only when asked.
    form = BookingDoubleBookingForm

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("target_states", queryset=TargetState.objects.order_by("target"))
            )
        )

    def changelist_view(self, request, extra_context=None):
        # The dispatcher's desk takes the whole width at 1280 px: no app sidebar on this list.
        extra = {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        return super().changelist_view(request, extra)

    def get_search_results(self, request, queryset, search_term):
        if not search_term:
            return queryset, False
        return booking_search(queryset, search_term), False

    @admin.display(description="booking", ordering="external_id")
    def reference_display(self, obj: Booking) -> str:
        return double_booked_badge(obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            booking = Booking.objects.filter(pk=object_id).select_related("boat").first()
            if booking is not None:
                double_booked_warn(request, booking)
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="starts (Pacific)", ordering="start")
    def local_start(self, obj: Booking) -> str:
        return timezone.localtime(obj.start).strftime("%a %b %-d %Y, %H:%M")

    @admin.display(description="party", ordering="party_size")
    def party_display(self, obj: Booking) -> int:
        return obj.party_size

    @admin.display(description="fan-out")
    def fanout(self, obj: Booking) -> str:
        states = obj.target_states.all()
        key = tuple((s.target, s.status, s.last_error) for s in states)
        return _fanout_badges(key, states)

    # Saves go through the domain functions: validation, version bump, audit row, fan-out.
    def save_model(self, request, obj, form, change):
        if not change:
            fields = {
                f: form.cleaned_data[f]
                for f in form.cleaned_data
                if f in {fld.name for fld in Booking._meta.concrete_fields}
            }
            created = booking_create(actor=request.user, via="admin", **fields)
            obj.pk = created.pk
            obj.version = created.version
            obj._state.adding = False
            obj._state.db = created._state.db
            return
        changes = {f: form.cleaned_data[f] for f in form.changed_data if f != SAVE_DESPITE_OVERLAP}
        if changes:
            booking_update(obj, actor=request.user, via="admin", **changes)

    @admin.action(description="Sync now (re-run every target)", permissions=["change"])
    def sync_now(self, request, queryset):
        for booking in queryset:
            booking_fanout_retry(booking, actor=request.user, only_failed=False)
        self.message_user(request, f"Syncing {queryset.count()} booking(s).")

    @admin.action(description="Retry failed targets", permissions=["change"])
    def retry_failed(self, request, queryset):
        rows = sum(len(booking_fanout_retry(b, actor=request.user)) for b in queryset)
        self.message_user(request, f"Re-queued {rows} failed target(s).")

    @admin.action(description="Cancel booking (unwinds every target)", permissions=["change"])
    def cancel_bookings(self, request, queryset):
        if request.POST.get("confirmed") != "yes":
            return TemplateResponse(
                request,
                "admin/bookings/booking/cancel_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Cancel bookings?",
                    "bookings": queryset.select_related("boat"),
                    "opts": self.model._meta,
                    "action_checkbox_name": ACTION_CHECKBOX_NAME,
                },
            )
        cancelled = sum(booking_cancel(b, actor=request.user, via="admin") for b in queryset)
        self.message_user(request, f"Cancelled {cancelled} booking(s).", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(DeliveryReplayMixin, ScalableListMixin, ReadOnlyAdmin):
    list_display = [
        "received_at",
        "source",
        "event_type",
        "event_id",
        "outcome",
        "http_status",
        "booking",
    ]
    list_filter = [
        "outcome",
        SourceFilter,
        fixed_choices_filter("event_type", [(t, t) for t in EVENT_TYPES], title="event type"),
    ]
    search_fields = ["event_id", "body", "error"]
    date_hierarchy = "received_at"
    list_select_related = ["booking"]


@admin.register(ApiToken)
class ApiTokenAdmin(ApiTokenAdminMixin, admin.ModelAdmin):
    list_display = ["name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
