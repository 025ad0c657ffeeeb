"""Admin for crew members, checklist templates, expenses, photos and notifications."""

from __future__ import annotations

from django.contrib import admin

from .models import (
    ChecklistItem,
    ChecklistTemplate,
    ChecklistTemplateItem,
    CrewAssignment,
    CrewMember,
    Expense,
    Notification,
    Photo,
)


class CrewAssignmentInline(admin.TabularInline):
    model = CrewAssignment
    extra = 0
    autocomplete_fields = ["member"]
    fields = ["member", "role", "pay", "response", "responded_at", "notified_at"]
    readonly_fields = ["responded_at", "notified_at"]


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0
    fields = ["phase", "position", "text", "required", "done_by", "done_at", "note"]
    readonly_fields = ["done_by", "done_at"]
    ordering = ["phase", "position"]


class NotificationInline(admin.TabularInline):
    model = Notification
    extra = 0
    can_delete = False
    fields = ["created_at", "member", "kind", "channel", "booking_version", "status", "error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("member")


@admin.register(CrewMember)
class CrewMemberAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "notify_by", "active"]
    list_filter = ["active", "notify_by"]
    search_fields = ["name", "email", "phone"]
    raw_id_fields = ["user"]


class ChecklistTemplateItemInline(admin.TabularInline):
    model = ChecklistTemplateItem
    extra = 1
    fields = ["phase", "position", "text", "required"]


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "boat"]
    list_select_related = ["boat"]
    inlines = [ChecklistTemplateItemInline]


@admin.register(Expense)
class ExpenseAdmin(admin.ModelAdmin):
    list_display = ["booking", "member", "kind", "amount", "miles", "approved_by", "created_at"]
    list_filter = ["kind", ("approved_by", admin.EmptyFieldListFilter)]
    search_fields = ["member__name", "booking__external_id", "note"]
    list_select_related = ["booking", "member", "approved_by"]
    autocomplete_fields = ["member"]
    raw_id_fields = ["booking"]


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = [
        "key",
        "booking",
        "uploaded_by",
        "member",
        "content_type",
        "size",
        "hidden",
        "uploaded_at",
    ]
    list_filter = ["uploaded_by", "hidden"]
    search_fields = ["key", "booking__external_id"]
    list_select_related = ["booking", "member"]
    raw_id_fields = ["booking", "member"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "member",
        "booking",
        "kind",
        "channel",
        "status",
        "booking_version",
    ]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["member__name", "booking__external_id", "provider_message_id"]
    list_select_related = ["member", "booking"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
