"""The parts of the boat and booking admins that other apps contribute (crew, guest pages).

A hub never imports its spokes: as ``django.contrib.admin.autodiscover`` collects each app's
``admin.py``, each spoke registers an ``AdminSection`` for a hub model from its own admin
module (``admin_section_register(Booking, AdminSection(...))``), and the hub's ``ModelAdmin``
(through ``ContributedSectionsMixin``) reads the registry per request. ``bookings`` precedes
``crew`` and ``guestpages`` in ``INSTALLED_APPS``, so its admin classes are defined before any
section is registered: nothing here is read at class-definition time.

A section may add inlines, list columns, list filters, actions, admin URLs, read-only
displays (on the change page as a titled fieldset, or appended fields), a queryset hook, a
hook over a list page's loaded rows, a hook on the GET of the change page, a hook after an
inline formset is saved, and tables below the change page's inlines (``page_sections``).
Sections apply in ``order``; within a list, a contributed item goes before its ``before``
anchor (a name: a column, or a filter class's name), or at the end.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.admin import ActionLocation
from django.contrib.admin.views.main import IS_POPUP_VAR
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import URLPattern
from django.utils.safestring import SafeString

__all__ = [
    "EDIT_PARAM",
    "AdminSection",
    "ContributedSectionsMixin",
    "admin_section_register",
    "admin_sections",
]

#: ``?edit=<key>`` on a change page brings back a compact inline's editable formset
EDIT_PARAM = "edit"


@dataclass(frozen=True)
class AdminSection:
    """One app's part of a hub model's admin.

    ``displays`` are ``@admin.display`` functions taking ``(model_admin, obj)``, reachable on
    the admin by their ``__name__`` (as a list column, a read-only field, or by code such as
    the week board that calls ``model_admin.crew_display(booking)``). ``compact_inlines`` are
    inlines shown on the change page only when it is opened with ``?edit=<key>`` (a
    ``page_sections`` table shows them read-only otherwise); they still count on the add page.
    ``page_sections`` are ``(position, render(model_admin, request, obj))`` pairs; the hub's own
    tables sit at their own positions among them.
    """

    key: str
    order: int = 100
    inlines: Sequence[type] = ()
    compact_inlines: Mapping[str, type] = field(default_factory=dict)
    columns: Sequence[tuple[str, str | None]] = ()
    list_filters: Sequence[tuple[Any, str | None]] = ()
    actions: Sequence[Callable] = ()
    displays: Sequence[Callable] = ()
    fieldset: tuple[str, Sequence[str]] | None = None
    fields: Sequence[str] = ()
    urls: Callable[[Any], list[URLPattern]] | None = None
    queryset: Callable[[QuerySet], QuerySet] | None = None
    page_loaded: Callable[[list], list] | None = None
    change_view_get: Callable[[HttpRequest, Model], None] | None = None
    formset_saved: Callable[[HttpRequest, Model, Any], None] | None = None
    page_sections: Sequence[tuple[int, Callable[[Any, HttpRequest, Model], SafeString]]] = ()

    @property
    def display_names(self) -> list[str]:
        return [fn.__name__ for fn in self.displays]


_SECTIONS: dict[str, dict[str, AdminSection]] = {}


def _label(model: type[Model]) -> str:
    return model._meta.label_lower


def admin_section_register(model: type[Model], section: AdminSection) -> None:
    """Register (or replace, by key) ``section`` on ``model``'s admin. Called from an app's
    ``admin.py``; idempotent."""
    _SECTIONS.setdefault(_label(model), {})[section.key] = section


def admin_sections(model: type[Model]) -> list[AdminSection]:
    """The sections registered on ``model``'s admin, in their order."""
    return sorted(_SECTIONS.get(_label(model), {}).values(), key=lambda s: (s.order, s.key))


def _name(item: Any) -> str:
    return item if isinstance(item, str) else getattr(item, "__name__", "")


def _placed(items: Sequence, contributed: Sequence[tuple[Any, str | None]]) -> list:
    """``items`` with each contributed item before its anchor (or at the end), once."""
    result = list(items)
    for item, before in contributed:
        if item in result:
            continue
        names = [_name(i) for i in result]
        at = names.index(before) if before in names else len(result)
        result.insert(at, item)
    return result


class ContributedSectionsMixin:
    """Applies the registered sections to a ``ModelAdmin`` (see the module docstring)."""

    def _sections(self) -> list[AdminSection]:
        return admin_sections(self.model)

    def __getattr__(self, name: str):
        # Only reached when normal lookup fails: a contributed display, bound to this admin.
        model = self.__dict__.get("model")
        if model is not None and not name.startswith("_"):
            for section in admin_sections(model):
                for fn in section.displays:
                    if fn.__name__ == name:
                        return types.MethodType(fn, self)
        raise AttributeError(name)

    def _editing(self, request) -> str:
        return request.GET.get(EDIT_PARAM, "") if request is not None else ""

    def get_compact_inlines(self) -> dict[str, type]:
        """The contributed inlines shown as a table unless the page is opened ``?edit=<key>``."""
        return {k: i for s in self._sections() for k, i in s.compact_inlines.items()}

    def get_inlines(self, request, obj):
        inlines = list(super().get_inlines(request, obj))
        hidden = set()
        if obj is not None:
            editing = self._editing(request)
            hidden = {i for k, i in self.get_compact_inlines().items() if k != editing}
        for section in self._sections():
            inlines.extend(i for i in section.inlines if i not in inlines and i not in hidden)
        return inlines

    def get_list_display(self, request):
        columns = [(c, before) for s in self._sections() for c, before in s.columns]
        return _placed(super().get_list_display(request), columns)

    def get_list_filter(self, request):
        filters = [(f, before) for s in self._sections() for f, before in s.list_filters]
        return _placed(super().get_list_filter(request), filters)

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        if self.actions is None or IS_POPUP_VAR in request.GET:
            return actions
        for section in self._sections():
            for func in section.actions:
                action = self.get_action(func, action_location)
                if action is None or action.name in actions:
                    continue
                permissions = getattr(func, "allowed_permissions", None)
                if permissions is None or any(
                    getattr(self, f"has_{p}_permission")(request) for p in permissions
                ):
                    actions[action.name] = action
        return actions

    def get_urls(self):
        contributed = [u for s in self._sections() if s.urls for u in s.urls(self)]
        return [*contributed, *super().get_urls()]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        for section in self._sections():
            if section.queryset is not None:
                queryset = section.queryset(queryset)
        return queryset

    def page_bookings_loaded(self, rows: list) -> list:
        """Let the sections read what they show for a list page's rows (one query each)."""
        for section in self._sections():
            if section.page_loaded is not None:
                rows = section.page_loaded(rows)
        return rows

    def get_changelist(self, request, **kwargs):
        changelist = super().get_changelist(request, **kwargs)
        if not any(s.page_loaded for s in self._sections()):
            return changelist
        loaded = self.page_bookings_loaded

        class SectionsChangeList(changelist):
            def get_results(self, request):
                super().get_results(request)
                self.result_list = loaded(list(self.result_list))

        return SectionsChangeList

    def _contributed_fields(self) -> list[str]:
        return [name for s in self._sections() for name in s.display_names]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *self._contributed_fields()]

    def get_fieldsets(self, request, obj=None):
        # Titled sections go before the last fieldset (the collapsed record), in order.
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:
            return fieldsets
        for section in self._sections():
            if section.fieldset is None:
                continue
            title, names = section.fieldset
            if any(name == title for name, _ in fieldsets):
                continue
            at = len(fieldsets) - 1 if len(fieldsets) > 1 else len(fieldsets)
            fieldsets.insert(at, (title, {"fields": list(names)}))
        return fieldsets

    def get_fields(self, request, obj=None):
        # Only used when no fieldsets are declared: untitled sections' fields come last, on
        # the change page only.
        contributed = set(self._contributed_fields())
        fields = [f for f in super().get_fields(request, obj) if f not in contributed]
        if obj is None:
            return fields
        return [*fields, *(f for s in self._sections() for f in s.fields)]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        hooks = [s.change_view_get for s in self._sections() if s.change_view_get]
        if hooks and request.method == "GET":
            obj = self.get_object(request, object_id)
            if obj is not None:
                for hook in hooks:
                    hook(request, obj)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_formset(self, request, form, formset, change):
        changed = formset.has_changed()
        super().save_formset(request, form, formset, change)
        if changed:
            for section in self._sections():
                if section.formset_saved is not None:
                    section.formset_saved(request, form.instance, formset)

    def contributed_page_sections(self, request, obj) -> list[tuple[int, SafeString]]:
        """The contributed tables below the change page's inlines, with their positions."""
        return [
            (position, render(self, request, obj))
            for s in self._sections()
            for position, render in s.page_sections
        ]
