"""Importing historical bookings from CSV: each row goes through the same intake as the webhook.

A dry run does everything inside a transaction that is rolled back, so its preview is
exactly what the real import will do. Re-importing the same file changes nothing: rows
are matched by (source, booking id) and an identical row is reported ``unchanged``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from .schema import InvalidPayload, booking_payload_parse, local_time_text
from .sources import source_check
from .upsert import booking_upsert_from_event

COLUMNS = [
    "source",
    "booking_id",
    "status",
    "boat_id",
    "boat_name",
    "start",
    "end",
    "meeting_point",
    "guest_name",
    "guest_email",
    "guest_phone",
    "party_size",
    "captain_required",
    "special_requests",
    "currency",
    "boat_price",
    "service_fee",
    "captain_fee",
    "owner_payout",
]
REQUIRED = ["booking_id", "status", "start", "end", "guest_name", "party_size"]
MAX_ROWS = 5000
#: payload path -> CSV column, so errors name the column the person has in front of them
COLUMN_OF = {
    "booking.source": "source",
    "booking.id": "booking_id",
    "booking.boat": "boat_id / boat_name",
    "booking.guest.name": "guest_name",
    "booking.guest.email": "guest_email",
    "booking.guest.phone": "guest_phone",
    "booking.pricing.currency": "currency",
    "booking.pricing.boat_price": "boat_price",
    "booking.pricing.service_fee": "service_fee",
    "booking.pricing.captain_fee": "captain_fee",
    "booking.pricing.owner_payout": "owner_payout",
}
TRUE = {"true", "yes", "y", "1"}
FALSE = {"false", "no", "n", "0"}


class CsvFormatError(Exception):
    """The file as a whole cannot be imported (wrong columns, not text, too many rows)."""


@dataclass
class RowResult:
    line: int
    booking_id: str
    outcome: str  # created | updated | unchanged | cancelled | stale | error
    errors: dict[str, list[str]] = field(default_factory=dict)
    booking_pk: int | None = None


@dataclass
class ImportReport:
    dry_run: bool
    rows: list[RowResult]

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    @property
    def counts(self) -> dict[str, int]:
        outcomes = ["created", "updated", "cancelled", "unchanged", "error"]
        return {o: self.count(o) for o in outcomes}


def csv_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvFormatError("the file is not UTF-8 text (save it as CSV UTF-8)") from None


def bookings_import_csv(
    text: str, *, actor: Any = None, dry_run: bool, default_source: str = "boatsetter"
) -> ImportReport:
    """Create or update one booking per row; with ``dry_run`` roll everything back.

    Each row is applied in its own savepoint: a bad row is reported with its errors per
    column and the good rows are imported. Idempotent: the same file twice reports every
    row ``unchanged`` the second time and writes nothing.
    """
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CsvFormatError(
            f"missing column(s): {', '.join(missing)}; expected {', '.join(COLUMNS)}"
        )
    reader.fieldnames = header
    results: list[RowResult] = []
    with transaction.atomic(durable=True):
        for row in reader:
            if reader.line_num > MAX_ROWS + 1:
                raise CsvFormatError(f"more than {MAX_ROWS} rows; split the file")
            results.append(_row_import(row, reader.line_num, actor, default_source))
        if dry_run:
            transaction.set_rollback(True)  # on-commit fan-out is dropped with it
    return ImportReport(dry_run=dry_run, rows=results)


def _row_import(row: dict[str, Any], line: int, actor: Any, default_source: str) -> RowResult:
    values = {k: (v or "").strip() for k, v in row.items() if k}
    booking_id = values.get("booking_id", "")
    try:
        source = source_check(values.get("source") or default_source, field="booking.source")
        payload = booking_payload_parse(_booking_dict(values))
        with transaction.atomic():
            applied = booking_upsert_from_event(source, payload, actor=actor, via="csv")
    except InvalidPayload as exc:
        errors = {COLUMN_OF.get(p, p.removeprefix("booking.")): m for p, m in exc.errors.items()}
        return RowResult(line, booking_id, "error", errors)
    return RowResult(line, booking_id, applied.outcome, booking_pk=applied.booking.pk)


def _booking_dict(v: dict[str, str]) -> dict[str, Any]:
    pricing = {
        k: v[k]
        for k in ("currency", "boat_price", "service_fee", "captain_fee", "owner_payout")
        if v.get(k)
    }
    return {
        "id": v.get("booking_id", ""),
        "status": v.get("status", "").lower(),
        "boat": {"id": v.get("boat_id", ""), "name": v.get("boat_name", "")},
        "start": local_time_text(v.get("start", "")),
        "end": local_time_text(v.get("end", "")),
        "meeting_point": v.get("meeting_point", ""),
        "guest": {
            "name": v.get("guest_name", ""),
            "email": v.get("guest_email", ""),
            "phone": v.get("guest_phone", ""),
        },
        "party_size": int(v["party_size"])
        if v.get("party_size", "").isdigit()
        else v.get("party_size"),
        "captain_required": _flag(v.get("captain_required", "")),
        "special_requests": v.get("special_requests", ""),
        "pricing": pricing,
    }


def _flag(value: str) -> Any:
    lowered = value.lower()
    if not lowered or lowered in TRUE:  # an empty cell keeps the default: captain required
        return True
    if lowered in FALSE:
        return False
    return value  # reported by the schema


def csv_template() -> str:
    """A header line and one example row, offered for download next to the import form."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerow(
        [
            "boatsetter",
            "BS-4821937",
            "completed",
            "b-77",
            "Queen of San Diego",
            "2026-06-05 10:00",
            "2026-06-05 14:00",
            "Harbor Island West Marina, dock C",
            "Ana Ruiz",
            "ana@example.com",
            "+16195550100",
            "6",
            "yes",
            "",
            "USD",
            "950.00",
            "95.00",
            "200.00",
            "855.00",
        ]
    )
    return out.getvalue()
