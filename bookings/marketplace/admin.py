"""The marketplace rules in front of staff: editable rules, countdowns, payouts, list filters.

``BookingMarketplaceMixin`` is mixed into ``bookings.admin.BookingAdmin``: a "Marketplace"
section on the booking page (request expiry, owner penalty, expected payout), the payout
received inline (saved through ``booking_payout_record``), and two list filters (requests
about to expire, payouts overdue or short).
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.contrib import admin
from django.db.models import F, Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from ..models import Booking
from .models import BookingPayout, MarketplaceRules
from .payouts import booking_payout_record
from .rules import (
    ATTENTION_HOURS,
    REQUEST_STATUSES,
    format_time_left,
    marketplace_rules_for,
    owner_cancel_penalty,
    payout_expected,
    payout_overdue_cutoff,
    request_expires_at,
    request_time_left,
    rules_by_source,
    source_label,
)

MARKETPLACE_FIELDS = ("marketplace_display",)


@admin.register(MarketplaceRules)
class MarketplaceRulesAdmin(admin.ModelAdmin):
    list_display = [
        "source",
        "request_expiry_hours",
        "owner_cancel_window_days",
        "owner_cancel_penalty_percent",
        "renter_late_minutes",
        "owner_late_minutes",
        "claim_deadline_hours",
        "payout_min_business_days",
        "payout_max_business_days",
        "relays_guest_messages",
    ]
    fieldsets = [
        (None, {"fields": ["source"]}),
        ("Requests", {"fields": ["request_expiry_hours"]}),
        (
            "Owner cancellation",
            {"fields": [("owner_cancel_window_days", "owner_cancel_penalty_percent")]},
        ),
        ("Lateness", {"fields": [("renter_late_minutes", "owner_late_minutes")]}),
        ("Claims", {"fields": ["claim_deadline_hours"]}),
        ("Payouts", {"fields": [("payout_min_business_days", "payout_max_business_days")]}),
        ("Guest messages", {"fields": ["relays_guest_messages"]}),
    ]


class RequestExpiryFilter(admin.SimpleListFilter):
    """The attention list's marketplace part: requests in their last 12 hours, or expired.

    Expiry is ``rules.request_expires_at``'s: the marketplace's ``respond_by`` when the
    booking has one, else the arrival plus the source's window.
    """

    title = "request expiry"
    parameter_name = "request"

    def lookups(self, request, model_admin):
        return [
            ("expiring", f"Expires within {ATTENTION_HOURS} h"),
            ("expired", "Past expiry, still unanswered"),
        ]

    def queryset(self, request, queryset):
        if self.value() not in {"expiring", "expired"}:
            return queryset
        now = timezone.now()
        attention = timezone.timedelta(hours=ATTENTION_HOURS)
        if self.value() == "expiring":
            deadline = Q(respond_by__gt=now, respond_by__lte=now + attention)
        else:
            deadline = Q(respond_by__lte=now)
        conditions = []
        for source, rules in rules_by_source().items():
            window = timezone.timedelta(hours=rules.request_expiry_hours)
            if self.value() == "expiring":
                arrived = Q(created_at__gt=now - window, created_at__lte=now - window + attention)
            else:
                arrived = Q(created_at__lte=now - window)
            conditions.append(Q(source=source) & (deadline | Q(respond_by__isnull=True) & arrived))
        if not conditions:
            return queryset.none()
        return queryset.filter(reduce(or_, conditions), status__in=REQUEST_STATUSES)


class PayoutFilter(admin.SimpleListFilter):
    """Completed trips whose payout is late, or came in below the expected owner payout."""

    title = "payout"
    parameter_name = "payout"

    def lookups(self, request, model_admin):
        return [
            ("overdue", "Overdue (none received)"),
            ("short", "Short of the owner payout"),
            ("received", "Received"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "short":
            return queryset.filter(payout_received__amount__lt=F("owner_payout"))
        if value == "received":
            return queryset.filter(payout_received__isnull=False)
        if value == "overdue":
            conditions = [
                Q(source=source, end__lt=payout_overdue_cutoff(rules))
                for source, rules in rules_by_source().items()
            ]
            if not conditions:
                return queryset.none()
            return queryset.filter(
                reduce(or_, conditions),
                status=Booking.Status.COMPLETED,
                payout_received__isnull=True,
            )
        return queryset


class BookingPayoutInline(admin.StackedInline):
    model = BookingPayout
    extra = 0
    max_num = 1
    can_delete = False
    fields = [("amount", "received_on"), "note", "recorded_by", "recorded_at"]
    readonly_fields = ["recorded_by", "recorded_at"]
    verbose_name = "payout received"
    verbose_name_plural = "payout received (record it when the marketplace pays)"


class BookingMarketplaceMixin:
    """Adds the marketplace section, the payout inline and the two filters to BookingAdmin."""

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        return [*filters, *(f for f in (RequestExpiryFilter, PayoutFilter) if f not in filters)]

    def get_inlines(self, request, obj):
        inlines = list(super().get_inlines(request, obj))
        return [*inlines, BookingPayoutInline] if obj is not None else inlines

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *MARKETPLACE_FIELDS]

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and not any(name == "Marketplace" for name, _ in fieldsets):
            fieldsets.insert(1, ("Marketplace", {"fields": list(MARKETPLACE_FIELDS)}))
        return fieldsets

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        return [f for f in fields if obj is not None or f not in MARKETPLACE_FIELDS]

    def save_formset(self, request, form, formset, change):
        if formset.model is not BookingPayout:
            return super().save_formset(request, form, formset, change)
        # Through the domain function: one transaction, one audit row, the acting user.
        # The admin's change message reads these three lists.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for payout_form in formset.forms:
            if not payout_form.has_changed() or not payout_form.cleaned_data:
                continue
            data = payout_form.cleaned_data
            payout = booking_payout_record(
                form.instance,
                amount=data["amount"],
                received_on=data["received_on"],
                note=data.get("note", ""),
                actor=request.user,
            )
            if payout_form.instance.pk:
                formset.changed_objects.append((payout, payout_form.changed_data))
            else:
                formset.new_objects.append(payout)
        return None

    @admin.display(description="rules")
    def marketplace_display(self, obj):
        rules = marketplace_rules_for(obj.source)
        if rules is None:
            return f"No marketplace rules for {source_label(obj.source)} bookings."
        lines = []
        left = request_time_left(obj, rules)
        if left is not None:
            expires = timezone.localtime(request_expires_at(obj, rules))
            lines.append(
                (
                    "request-expiry",
                    f"Request expires {expires:%a %b %-d, %-I:%M %p %Z}: "
                    f"{format_time_left(left)} left"
                    + (
                        " - ANSWER NOW" if left <= timezone.timedelta(hours=ATTENTION_HOURS) else ""
                    ),
                )
            )
        if obj.status not in Booking.ENDED_STATUSES and obj.status != Booking.Status.COMPLETED:
            lines.append(("owner-penalty", str(owner_cancel_penalty(obj, rules))))
        if obj.status == Booking.Status.COMPLETED:
            received = BookingPayout.objects.filter(booking=obj).first()
            expectation = payout_expected(obj, rules, received=received)
            lines.append((f"payout-{expectation.status}", str(expectation)))
        if not lines:
            return "Nothing pending with the marketplace."
        return format_html(
            "<ul class='marketplace'>{}</ul>",
            format_html_join("", '<li data-marketplace="{}">{}</li>', lines),
        )
