"""Admin for guest pages: the list, the panel on the booking page, "Republish guest page", and the
guest messages (their log on the booking page, the per-booking switch).

The booking page's guest-page and party inlines and its guest-message table are this app's section of the hub's
booking admin (``bookings.admin_sections``), registered at the end of this module."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from bookings.admin_sections import AdminSection, admin_section_register
from bookings.booking_page_admin import (
    admin_list_link,
    history_section,
    history_table,
    history_when,
)
from bookings.models import Booking
from charterops.admin import ReadOnlyAdmin
from charterops.fanout.targets import TargetError

from .manifest import (
    ManifestRefused,
    manifest_entries,
    manifest_entry_add,
    manifest_entry_remove,
    manifest_entry_rename,
    party_status,
    waiver_document,
    waiver_text_publish,
)
from .messages import (
    guest_message_preview,
    guest_message_settings,
    guest_messages_off_reason,
    guest_messages_switch,
)
from .models import GuestMessage, GuestPage, Manifest, ManifestEntry, WaiverSignature, WaiverText
from .publishing import guest_page_republish
from .waiver_pdf import WaiverPdfMismatch, waiver_pdf_document


def _public_link(page: GuestPage) -> str:
    if not page.public_url:
        return "— (not published yet)"
    return format_html(
        '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
        page.public_url,
        page.public_url,
    )


def _may_see_bookings(request: HttpRequest) -> bool:
    """Who sees a booking sees its guest messages (they are part of the booking's record)."""
    return request.user.has_perm("bookings.view_booking") or request.user.has_perm(
        "bookings.change_booking"
    )


class BookingRecordAdmin(ReadOnlyAdmin):
    """A read-only log that is part of a booking's record (guest messages, the party, the
    waivers): whoever may see bookings may read it; nobody edits it here."""

    def has_view_permission(self, request, obj=None):
        return _may_see_bookings(request)

    def has_module_permission(self, request):
        return _may_see_bookings(request)


def _republish_url(booking_id: int) -> str:
    return reverse("admin:guestpages_guestpage_republish", args=[booking_id])


class GuestPageInline(admin.StackedInline):
    """The booking page's guest-page panel: where it lives, when it changed, republish."""

    model = GuestPage
    extra = 0
    max_num = 1
    can_delete = False
    fields = [
        "public_link",
        "status",
        "published_at",
        "content_hash",
        "guest_photos",
        "guest_messages",
        "party",
        "republish",
    ]
    readonly_fields = fields
    verbose_name = "guest page"
    verbose_name_plural = "guest page"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # a read-only panel: pages change by publishing, never by hand

    def has_delete_permission(self, request, obj=None):
        return False

    @staticmethod
    def _may_see(request) -> bool:
        return request.user.has_perm("bookings.view_booking") or request.user.has_perm(
            "bookings.change_booking"
        )

    def has_view_permission(self, request, obj=None):
        # Not on the add form: a booking being created has no page yet (and no formset data).
        return obj is not None and self._may_see(request)

    def get_queryset(self, request):
        # Django checks the view permission here without the booking; ask what it means.
        queryset = GuestPage.objects.select_related("booking")
        return queryset if self._may_see(request) else queryset.none()

    @admin.display(description="public URL")
    def public_link(self, obj: GuestPage) -> str:
        return _public_link(obj)

    @admin.display(description="guest photos")
    def guest_photos(self, obj: GuestPage) -> str:
        """How many photos the guest dropped, linking to the list where staff hide or show them."""
        counts = obj.booking.photos.filter(uploaded_by="guest").aggregate(
            total=Count("id"), hidden=Count("id", filter=Q(hidden=True))
        )
        url = reverse("admin:bookings_photo_changelist")
        return format_html(
            '<a href="{}?booking__id__exact={}&amp;uploaded_by__exact=guest">{} photo(s), {} hidden'
            "</a>",
            url,
            obj.booking_id,
            counts["total"],
            counts["hidden"],
        )

    @admin.display(description="guest messages")
    def guest_messages(self, obj: GuestPage) -> str:
        """Whether the guest is messaged (and how), with the link to switch it."""
        prefs = guest_message_settings(obj.booking)
        if prefs.enabled:
            state = "On, texts first" if prefs.prefer_sms else "On"
        else:
            state = f"Off: {guest_messages_off_reason(obj.booking, prefs)}"
        return format_html(
            '{} · <a href="{}">Change</a> (the messages are listed under "Guest messages")',
            state,
            reverse("admin:guestpages_guestmessage_switch", args=[obj.booking_id]),
        )

    @admin.display(description="party")
    def party(self, obj: GuestPage) -> str:
        """Waivers signed against the party size, and the emergency contact ashore."""
        manifest = Manifest.objects.filter(booking=obj.booking_id).first()
        contact = (
            f"{manifest.emergency_name}, {manifest.emergency_phone}"
            if manifest and manifest.emergency_name
            else "none yet"
        )
        return format_html(
            '{} · emergency contact ashore: {} (names under “Party (manifest)”) · <a href="{}">'
            "Correct the party</a>",
            party_status(obj.booking),
            contact,
            _party_edit_url(obj.booking_id),
        )

    @admin.display(description="")
    def republish(self, obj: GuestPage) -> str:
        return format_html(
            '<a class="button" href="{}">Republish guest page</a>', _republish_url(obj.booking_id)
        )


@admin.register(GuestPage)
class GuestPageAdmin(admin.ModelAdmin):
    list_display = ["page_id", "booking", "status", "published_at", "public_link"]
    list_filter = ["status"]
    search_fields = ["page_id", "booking__external_id", "booking__guest_name"]
    list_select_related = ["booking"]
    readonly_fields = ["page_id", "booking", "status", "content_hash", "published_at", "public_url"]
    actions = ["republish_pages"]

    def has_add_permission(self, request):
        return False  # pages are made by publishing a booking, never by hand

    @admin.display(description="public URL")
    def public_link(self, obj: GuestPage) -> str:
        return _public_link(obj)

    def get_urls(self):
        urls = [
            path(
                "republish/<int:booking_id>/",
                self.admin_site.admin_view(self.republish_view),
                name="guestpages_guestpage_republish",
            )
        ]
        return urls + super().get_urls()

    def has_republish_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("bookings.change_booking")

    def republish_view(self, request: HttpRequest, booking_id: int) -> HttpResponse:
        """GET asks for confirmation; POST uploads the page again and invalidates the CDN."""
        if not self.has_republish_permission(request):
            raise PermissionDenied
        booking = get_object_or_404(Booking.objects.select_related("boat"), pk=booking_id)
        back = reverse("admin:bookings_booking_change", args=[booking.pk])
        if request.method != "POST":
            return TemplateResponse(
                request,
                "admin/guestpages/republish_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Republish guest page?",
                    "booking": booking,
                    "page": GuestPage.objects.filter(booking=booking).first(),
                    "opts": self.model._meta,
                    "back_url": back,
                },
            )
        self._republish(request, booking)
        return HttpResponseRedirect(back)

    def _republish(self, request: HttpRequest, booking: Booking) -> bool:
        try:
            outcome = guest_page_republish(booking, actor=request.user)
        except TargetError as exc:
            self.message_user(
                request, f"{booking.reference}: guest page not republished: {exc}", messages.ERROR
            )
            return False
        self.message_user(
            request,
            f"{booking.reference}: guest page republished ({outcome.page.content_hash[:12]}).",
            messages.SUCCESS,
        )
        return True

    @admin.action(description="Republish the selected guest pages", permissions=["republish"])
    def republish_pages(self, request, queryset):
        for page in queryset.select_related("booking", "booking__boat"):
            self._republish(request, page.booking)


#: how many guest messages the booking page lists before linking to the rest
GUEST_MESSAGES_SHOWN = 10


def guest_messages_page_section(model_admin, request, booking) -> SafeString:
    """The booking page's guest messages, newest first, read-only (one query): a log staff
    read, so a table rather than an inline's formset."""
    if not _may_see_bookings(request):
        return SafeString("")
    sent = list(booking.guest_messages.order_by("-created_at", "-id")[: GUEST_MESSAGES_SHOWN + 1])
    more = len(sent) > GUEST_MESSAGES_SHOWN
    sent = sent[:GUEST_MESSAGES_SHOWN]
    change = f"{model_admin.admin_site.name}:guestpages_guestmessage_change"
    rows = format_html_join(
        "",
        '<tr><td>{}</td><td><a href="{}">{}</a></td><td>{}</td><td>{}</td>'
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                history_when(m.created_at),
                reverse(change, args=[m.pk]),
                m,
                m.get_channel_display(),
                m.recipient,
                m.get_status_display(),
                m.attempts,
                history_when(m.sent_at),
                m.error,
            )
            for m in sent
        ),
    )
    table = history_table(
        caption="Guest messages, newest first",
        headers=["created", "message", "channel", "to", "status", "attempts", "sent", "error"],
        rows=rows,
        empty="No guest messages yet.",
    )
    link = admin_list_link(
        model_admin, request, GuestMessage, booking, "All guest messages" if more else "As a list"
    )
    title = f"Guest messages (latest {GUEST_MESSAGES_SHOWN})" if more else "Guest messages"
    return history_section("guest-messages", title, table, [link] if link else [])


@admin.register(GuestMessage)
class GuestMessageAdmin(BookingRecordAdmin):
    """Guest messages as a read-only log, with what the guest read; and the per-booking switch."""

    list_display = ["created_at", "booking", "kind", "channel", "status", "sent_at", "error"]
    list_filter = ["status", "kind", "channel"]
    list_select_related = ["booking"]
    search_fields = ["booking__external_id", "booking__guest_name", "recipient"]
    fields = readonly_fields = [
        "booking",
        "kind",
        "booking_version",
        "channel",
        "recipient",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "provider_message_id",
        "error",
        "text",
    ]

    @admin.display(description="what the guest read")
    def text(self, obj: GuestMessage) -> str:
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>', guest_message_preview(obj)
        )

    def get_urls(self):
        urls = [
            path(
                "switch/<int:booking_id>/",
                self.admin_site.admin_view(self.switch_view),
                name="guestpages_guestmessage_switch",
            )
        ]
        return urls + super().get_urls()

    def switch_view(self, request: HttpRequest, booking_id: int) -> HttpResponse:
        """GET shows the booking's setting; POST switches guest messages on or off."""
        if not request.user.has_perm("bookings.change_booking"):
            raise PermissionDenied
        booking = get_object_or_404(Booking.objects.select_related("boat"), pk=booking_id)
        back = reverse("admin:bookings_booking_change", args=[booking.pk])
        if request.method == "POST":
            prefs = guest_messages_switch(
                booking,
                enabled=request.POST.get("enabled") == "on",
                prefer_sms=request.POST.get("prefer_sms") == "on",
                actor=request.user,
            )
            self.message_user(
                request,
                f"{booking.reference}: guest messages are {'on' if prefs.enabled else 'off'}.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(back)
        prefs = guest_message_settings(booking)
        return TemplateResponse(
            request,
            "admin/guestpages/guest_messages_switch.html",
            {
                **self.admin_site.each_context(request),
                "title": "Guest messages",
                "booking": booking,
                "prefs": prefs,
                "off_reason": guest_messages_off_reason(booking, prefs),
                "opts": self.model._meta,
                "back_url": back,
            },
        )


def _party_edit_url(booking_id: int) -> str:
    return reverse("admin:guestpages_manifestentry_party", args=[booking_id])


def _waiver_download_url(signature: WaiverSignature) -> str:
    return reverse("admin:guestpages_waiversignature_download", args=[signature.pk])


def _waiver_links(signature: WaiverSignature) -> str:
    return format_html(
        '<a href="{}">Download</a> · <a href="{}">PDF</a>',
        _waiver_download_url(signature),
        reverse("admin:guestpages_waiversignature_download_pdf", args=[signature.pk]),
    )


class ManifestEntryInline(admin.TabularInline):
    """On the booking page: the party as the guest named it, and each one's signed waiver."""

    model = ManifestEntry
    extra = 0
    max_num = 0
    can_delete = False
    fields = readonly_fields = ["full_name", "waiver_status", "download"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return obj is not None and _may_see_bookings(request)  # not on the add form

    def get_queryset(self, request):
        queryset = ManifestEntry.objects.filter(removed_at__isnull=True).select_related("waiver")
        return queryset if _may_see_bookings(request) else queryset.none()

    @admin.display(description="waiver")
    def waiver_status(self, obj: ManifestEntry) -> str:
        signature = getattr(obj, "waiver", None) if hasattr(obj, "waiver") else None
        if signature is None:
            return "not signed yet"
        who = "adult" if signature.adult else f"minor, signed by {signature.guardian_name}"
        return f"signed {signature.signed_at:%Y-%m-%d %H:%M} UTC ({who}, v{signature.text_version})"

    @admin.display(description="document")
    def download(self, obj: ManifestEntry) -> str:
        if not hasattr(obj, "waiver"):
            return "—"
        return _waiver_links(obj.waiver)


@admin.register(WaiverSignature)
class WaiverSignatureAdmin(BookingRecordAdmin):
    """Signed waivers: read-only, each with its stored document to download."""

    list_display = ["entry", "booking", "text_version", "adult", "signed_at", "download"]
    list_select_related = ["entry", "booking"]
    search_fields = ["entry__full_name", "booking__external_id", "signed_name"]
    list_filter = ["adult", "text_version"]
    readonly_fields = [f.name for f in WaiverSignature._meta.fields] + ["download"]

    @admin.display(description="document")
    def download(self, obj: WaiverSignature) -> str:
        return _waiver_links(obj)

    def get_urls(self):
        urls = [
            path(
                "<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="guestpages_waiversignature_download",
            ),
            path(
                "<int:pk>/download.pdf",
                self.admin_site.admin_view(self.download_pdf_view),
                name="guestpages_waiversignature_download_pdf",
            ),
        ]
        return urls + super().get_urls()

    def download_pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The signed waiver as PDF, stored once (now, for a signature older than PDFs) and
        checked against its recorded SHA-256."""
        if not _may_see_bookings(request):
            raise PermissionDenied
        signature = get_object_or_404(
            WaiverSignature.objects.select_related("entry", "booking__boat", "waiver_text"), pk=pk
        )
        try:
            body = waiver_pdf_document(signature)
        except WaiverPdfMismatch as exc:
            return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
        response = HttpResponse(body, content_type="application/pdf")
        name = f"waiver-{signature.booking_id}-{signature.entry.token}-v{signature.text_version}"
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The signed document as stored, checked against its recorded SHA-256."""
        if not _may_see_bookings(request):
            raise PermissionDenied
        signature = get_object_or_404(WaiverSignature.objects.select_related("entry"), pk=pk)
        try:
            body = waiver_document(signature)
        except ManifestRefused as exc:
            return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
        response = HttpResponse(body, content_type="text/html; charset=utf-8")
        name = f"waiver-{signature.booking_id}-{signature.entry.token}-v{signature.text_version}"
        response["Content-Disposition"] = f'attachment; filename="{name}.html"'
        response["X-Content-Type-Options"] = "nosniff"
        return response


@admin.register(WaiverText)
class WaiverTextAdmin(admin.ModelAdmin):
    """The waiver's versions. Saving never edits one: it adds the next version."""

    list_display = ["version", "title", "short_hash", "created_at", "created_by"]
    list_select_related = ["created_by"]
    fields = ["title", "body"]

    @admin.display(description="SHA-256")
    def short_hash(self, obj: WaiverText) -> str:
        return obj.sha256[:16]

    def has_change_permission(self, request, obj=None):
        return False  # a signed text is never changed: "Add" makes a new version

    def has_delete_permission(self, request, obj=None):
        return False

    def get_changeform_initial_data(self, request):
        current = WaiverText.objects.order_by("-version").first()
        if current is None:
            return super().get_changeform_initial_data(request)
        return {"title": current.title, "body": current.body}

    def save_model(self, request, obj, form, change):
        text = waiver_text_publish(
            title=form.cleaned_data["title"], body=form.cleaned_data["body"], actor=request.user
        )
        obj.pk, obj.version, obj.sha256 = text.pk, text.version, text.sha256
        obj._state.adding, obj._state.db = False, text._state.db


@admin.register(ManifestEntry)
class ManifestEntryAdmin(BookingRecordAdmin):
    """Everyone named on a party, read-only; staff correct a party from its own page
    ("Correct the party" on the booking page), through the guest form's domain functions."""

    list_display = ["full_name", "booking", "signed", "removed_at", "removed_reason"]
    list_select_related = ["booking", "waiver"]
    search_fields = ["full_name", "booking__external_id"]
    readonly_fields = [
        "booking",
        "full_name",
        "token",
        "created_at",
        "removed_at",
        "removed_reason",
    ]

    @admin.display(description="waiver", boolean=True)
    def signed(self, obj: ManifestEntry) -> bool:
        return hasattr(obj, "waiver")

    def get_urls(self):
        urls = [
            path(
                "party/<int:booking_id>/",
                self.admin_site.admin_view(self.party_view),
                name="guestpages_manifestentry_party",
            )
        ]
        return urls + super().get_urls()

    def _party_change(self, request: HttpRequest, booking: Booking) -> str:
        """Run the one domain function the POST asks for; its confirmation sentence."""
        form = request.POST.get("form", "")
        if form == "add":
            entry = manifest_entry_add(
                booking, full_name=request.POST.get("full_name", ""), actor=request.user
            )
            return f"{entry.full_name} added to the party."
        token = request.POST.get("token", "")
        entry = next((e for e in manifest_entries(booking) if e.token == token), None)
        if entry is None:
            raise ManifestRefused("That name is no longer on the list.")
        if form == "rename":
            renamed = manifest_entry_rename(
                entry, full_name=request.POST.get("full_name", ""), actor=request.user
            )
            return f"The name is now {renamed.full_name}."
        if form == "remove":
            name = manifest_entry_remove(
                booking,
                token=entry.token,
                actor=request.user,
                reason=request.POST.get("reason", ""),
            )
            return f"{name} taken off the party."
        raise ManifestRefused("Nothing to do.")

    def party_view(self, request: HttpRequest, booking_id: int) -> HttpResponse:
        """GET lists the party with a form per name; POST adds, renames or removes one."""
        if not request.user.has_perm("bookings.change_booking"):
            raise PermissionDenied
        booking = get_object_or_404(Booking.objects.select_related("boat"), pk=booking_id)
        here = reverse("admin:guestpages_manifestentry_party", args=[booking.pk])
        if request.method == "POST":
            try:
                done = self._party_change(request, booking)
            except ManifestRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{booking.reference}: {done}", messages.SUCCESS)
            return HttpResponseRedirect(here)
        entries = manifest_entries(booking)
        return TemplateResponse(
            request,
            "admin/guestpages/party_edit.html",
            {
                **self.admin_site.each_context(request),
                "title": "Correct the party",
                "booking": booking,
                "entries": [(e, hasattr(e, "waiver")) for e in entries],
                "status": party_status(booking),
                "can_add": len(entries) < booking.party_size,
                "opts": self.model._meta,
                "back_url": reverse("admin:bookings_booking_change", args=[booking.pk]),
            },
        )


admin_section_register(
    Booking,
    AdminSection(
        key="guestpages",
        order=40,
        inlines=[GuestPageInline, ManifestEntryInline],
        page_sections=[(70, guest_messages_page_section)],
    ),
)
