"""Admin list pages that cost the page, not the table.

Django's changelist does three things that scan a whole table: it counts every row (twice,
with ``show_full_result_count``), its date hierarchy asks the database for the distinct
years/months/days of the filtered rows, and ``AllValuesFieldListFilter`` runs a ``DISTINCT``
over the column. ``ScalableListMixin`` replaces the three: one count of the filtered rows,
capped (``COUNT_CAP``: "1,000+ results"; the planner's estimate when the list is unfiltered
and large), a date hierarchy from the table's first and last date (two index look-ups) and
the calendar, and list filters whose choices are fixed in code (``fixed_choices_filter``).
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Callable, Iterable

from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.views.main import PAGE_VAR
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import QuerySet
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

#: unfiltered lists at least this long show PostgreSQL's row estimate instead of a COUNT(*)
ESTIMATE_ABOVE = 10_000
#: a filtered list counts at most this many rows (more when paged further) and says "1,000+"
COUNT_CAP = 1_000
#: ... and always enough for this many pages past the one shown
COUNT_PAGES_AHEAD = 10


def table_row_estimate(model: type[models.Model], *, using: str = "default") -> int | None:
    """The planner's row estimate of the model's table (``pg_class.reltuples``), or None.

    Kept current by autovacuum's ANALYZE; None where the database is not PostgreSQL or the
    table was never analyzed.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [model._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] >= 0 else None


class CappedCount(int):
    """A row count that stopped at ``limit``: worth ``limit + 1``, written "1,000+".

    The changelist's templates print ``cl.result_count`` in the paginator ("1,000+ bookings"),
    the search bar ("1,000+ results") and the actions bar ("Select all 1,000+ bookings"; the
    action still runs on every match), so the one number reads right in all three.
    """

    limit: int

    def __new__(cls, limit: int) -> CappedCount:
        count = super().__new__(cls, limit + 1)
        count.limit = limit
        return count

    def __str__(self) -> str:
        return f"{self.limit:,}+"

    __repr__ = __str__


class EstimatedCountPaginator(Paginator):
    """Counts the filtered rows, up to ``count_limit``; an unfiltered long list is counted by
    the planner's estimate.

    A search or filter matching tens of thousands of rows used to be counted exactly, which
    cost more than the page itself. With ``count_limit`` set (``ScalableListMixin`` sets it
    per request) the count reads at most ``count_limit + 1`` rows, in a ``LIMIT`` subquery
    without ORDER BY, and past the limit is a ``CappedCount``.
    """

    count_limit: int | None = None

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if not isinstance(rows, QuerySet):
            return super().count
        if not rows.query.where and not rows.query.combinator:
            estimate = table_row_estimate(rows.model, using=rows.db)
            if estimate is not None and estimate >= ESTIMATE_ABOVE:
                return estimate
        if self.count_limit is None:
            return super().count
        found = rows.order_by()[: self.count_limit + 1].count()
        return CappedCount(self.count_limit) if found > self.count_limit else found


def fixed_choices_filter(
    field: str,
    choices: Iterable[tuple[str, str]] | Callable[[], Iterable[tuple[str, str]]],
    *,
    title: str | None = None,
) -> type[admin.SimpleListFilter]:
    """A list filter on ``field`` whose choices are given (or computed from settings, when a
    callable), not read from the table.

    A prefix choice ending in ``.`` matches every value that starts with it (audit actions).
    """
    options = choices if callable(choices) else list(choices)

    class FixedChoicesFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            return list(options()) if callable(options) else options

        def queryset(self, request, queryset):
            value = self.value()
            if not value:
                return queryset
            if value.endswith("."):
                return queryset.filter(**{f"{field}__startswith": value})
            return queryset.filter(**{field: value})

    FixedChoicesFilter.title = title or field.replace("_", " ")
    FixedChoicesFilter.__name__ = f"{field.title().replace('_', '')}FixedFilter"
    return FixedChoicesFilter


def date_hierarchy_choices(cl) -> dict:
    """The context of ``admin/date_hierarchy.html`` without asking which dates have rows.

    Years run from the table's first to its last date (two index look-ups on the field);
    months and days come from the calendar. A link to a month with no rows shows an empty
    list, which is cheaper than finding out beforehand.
    """
    field_name = cl.date_hierarchy
    field = get_fields_from_path(cl.model, field_name)[-1]
    year_field, month_field, day_field = (f"{field_name}__{p}" for p in ("year", "month", "day"))
    try:
        year, month, day = (
            int(cl.params[f]) if cl.params.get(f) else None
            for f in (year_field, month_field, day_field)
        )
    except ValueError:  # the changelist has refused the lookup already
        return {"show": False}

    def link(filters: dict) -> str:
        return cl.get_query_string(filters, [f"{field_name}__"])

    context = {"show": True, "field_name": field.verbose_name}
    if year and month and day:
        chosen = datetime.date(year, month, day)
        return context | {
            "back": {
                "link": link({year_field: year, month_field: month}),
                "title": capfirst(formats.date_format(chosen, "YEAR_MONTH_FORMAT")),
            },
            "choices": [{"title": capfirst(formats.date_format(chosen, "MONTH_DAY_FORMAT"))}],
        }
    if year and month:
        days = calendar.monthrange(year, month)[1]
        return context | {
            "back": {"link": link({year_field: year}), "title": str(year)},
            "choices": [
                {
                    "link": link({year_field: year, month_field: month, day_field: d}),
                    "title": capfirst(
                        formats.date_format(datetime.date(year, month, d), "MONTH_DAY_FORMAT")
                    ),
                }
                for d in range(1, days + 1)
            ],
        }
    if year:
        return context | {
            "back": {"link": link({}), "title": "All dates"},
            "choices": [
                {
                    "link": link({year_field: year, month_field: m}),
                    "title": capfirst(
                        formats.date_format(datetime.date(year, m, 1), "YEAR_MONTH_FORMAT")
                    ),
                }
                for m in range(1, 13)
            ],
        }
    table = cl.model._default_manager.using(cl.root_queryset.db)
    bounds = table.aggregate(first=models.Min(field_name), last=models.Max(field_name))
    if bounds["first"] is None:
        return {"show": False}
    first, last = (
        timezone.localtime(v) if timezone.is_aware(v) else v
        for v in (bounds["first"], bounds["last"])
    )
    return context | {
        "back": None,
        "choices": [
            {"link": link({year_field: str(y)}), "title": str(y)}
            for y in range(first.year, last.year + 1)
        ],
    }


class ScalableListMixin:
    """For a ModelAdmin whose table grows without bound: see the module docstring."""

    show_full_result_count = False
    paginator = EstimatedCountPaginator
    change_list_template = "admin/charterops/scalable_change_list.html"

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        paginator = super().get_paginator(
            request, queryset, per_page, orphans, allow_empty_first_page
        )
        if isinstance(paginator, EstimatedCountPaginator):
            try:
                page = max(1, int(request.GET.get(PAGE_VAR, 1)))
            except ValueError:
                page = 1
            paginator.count_limit = max(COUNT_CAP, (page + COUNT_PAGES_AHEAD) * per_page)
        return paginator

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, obj) -> str:
        """Django's row checkbox, written directly (its widget template costs ~0.5 ms a row)."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            ACTION_CHECKBOX_NAME,
            obj.pk,
            f"Select this object for an action - {obj}",
        )
