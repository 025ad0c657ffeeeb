"""Marketplace parsers: a message's labelled fields mapped onto the intake schema.

Marketplaces change their layouts, so nothing here depends on markup or on line positions:
the text of every text part is read (HTML turned into lines, entities and quoted-printable
decoded by the ``email`` package), the ``>`` of quoted replies and forwards is dropped, and
each field is found by its label ("Trip date: ...", or a label alone on a line with its
value on the next, as an HTML table gives). The event (request, confirmed, changed,
cancelled, expired) comes from the subject, the original's subject for a forwarded copy.
Times are local to the boat (the business's time zone): date + start time + duration, or
date + start and end times.

``message_parse`` answers a ``Parsed``: the marketplace, the event, every field found, and
the booking snapshot when the parse is complete; ``problems`` says what is missing when not.
Pure functions: no database (the boat is resolved by ``proposals``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal, InvalidOperation
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from ..schema import InvalidPayload, booking_payload_parse

#: parts larger than this are not read (a 20 MB "text" attachment is not an email body)
MAX_PART_BYTES = 512 * 1024
EVENT_STATUS = {
    "request": "pending",
    "confirmed": "confirmed",
    "changed": "confirmed",
    "cancelled": "cancelled",
    "expired": "expired",
}


# --- The text of a message ----------------------------------------------------------------

_BLOCK_TAGS = {
    "br", "p", "div", "tr", "td", "th", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
    "tbody", "thead", "section", "blockquote", "hr", "dt", "dd",
}  # fmt: skip


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("style", "script", "head"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def _part_text(part: Message) -> str:
    if isinstance(part, EmailMessage):
        try:
            return part.get_content()
        except Exception:  # noqa: BLE001, S110 (an unknown charset, a broken encoding)
            pass  # decoded leniently below
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def message_text(message: Message) -> str:
    """The plain text of every text part, HTML converted; attachments and huge parts skipped."""
    plain: list[str] = []
    html: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        if part.get_content_maintype() != "text" or part.get_filename():
            continue
        if str(part.get("Content-Disposition", "")).lower().startswith("attachment"):
            continue
        if len(str(part.get_payload())) > MAX_PART_BYTES:
            continue
        text = _part_text(part)
        if part.get_content_subtype() == "html":
            html.append(html_text(text))
        else:
            plain.append(text)
    # Both parts: a field missing from one layout may be in the other.
    return "\n".join(plain + html)


def text_lines(text: str) -> list[str]:
    """Non-empty lines, quoting (``>``) and repeated whitespace removed."""
    lines = []
    for line in text.replace("\xa0", " ").replace("\r", "").split("\n"):
        line = re.sub(r"^(\s*>)+", "", line)
        line = " ".join(line.split()).strip("*_ ")
        if line:
            lines.append(line)
    return lines


def labelled(lines: list[str], labels: tuple[str, ...]) -> str:
    """The value of the first line labelled with one of ``labels`` (case-insensitive).

    "Label: value" on one line, or "Label" / "Label:" alone with the value on the next line.
    """
    names = "|".join(re.escape(label) for label in labels)
    inline = re.compile(rf"^(?:{names})\s*[:：#-]\s*(.+)$", re.IGNORECASE)
    alone = re.compile(rf"^(?:{names})\s*:?$", re.IGNORECASE)
    for index, line in enumerate(lines):
        found = inline.match(line)
        if found:
            return found.group(1).strip()
        if alone.match(line) and index + 1 < len(lines):
            return lines[index + 1].strip()
    return ""


# --- Values -------------------------------------------------------------------------------

_DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y", "%m/%d/%Y", "%Y-%m-%d",
                 "%d %B %Y", "%d %b %Y")  # fmt: skip
_TIME = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*([ap])\.?\s*m\.?|(\d{1,2}):(\d{2})", re.IGNORECASE)


def parse_date(text: str) -> date | None:
    # "Saturday, June 6, 2026", "Sat, Jun 6, 2026"
    value = re.sub(r"^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+", "", text.strip(), flags=re.I)
    value = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", value)
    value = re.split(r"\s+(?:at|from|,\s*\d{1,2}:)\s*", value)[0].strip(" ,.")
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def parse_time(text: str) -> time | None:
    found = _TIME.search(text)
    if not found:
        return None
    if found.group(3):
        hour, minute = int(found.group(1)), int(found.group(2) or 0)
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if found.group(3).lower() == "p" else 0)
    else:
        hour, minute = int(found.group(4)), int(found.group(5))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


#: the zone abbreviations marketplaces print after a time; the abbreviation is what tells
#: 1:30 AM PDT from 1:30 AM PST on the night the clocks fall back.
_ZONE_OFFSETS = {
    "PST": -8, "PDT": -7, "MST": -7, "MDT": -6, "CST": -6, "CDT": -5, "EST": -5, "EDT": -4,
    "UTC": 0, "GMT": 0,
}  # fmt: skip
_ZONE = re.compile(r"\b(" + "|".join(_ZONE_OFFSETS) + r")\b")


def parse_deadline(text: str) -> datetime | None:
    """ "January 13, 2027 10:00 AM PST" as an aware datetime; without a zone, the business's."""
    clock = _TIME.search(text)
    if clock is None:
        return None
    day, at = parse_date(text[: clock.start()]), parse_time(text[clock.start() :])
    if day is None or at is None:
        return None
    zone = _ZONE.search(text[clock.end() :].upper())
    if zone:
        offset = dt_timezone(timedelta(hours=_ZONE_OFFSETS[zone.group(1)]))
        return datetime.combine(day, at, tzinfo=offset)
    return datetime.combine(day, at, tzinfo=ZoneInfo(settings.TIME_ZONE))


def parse_duration(text: str) -> timedelta | None:
    value = text.lower()
    hours = re.search(r"(\d+(?:\.\d+)?)\s*(?:hours?|hrs?|h)\b", value)
    minutes = re.search(r"(\d+)\s*(?:minutes?|mins?|m)\b", value)
    if not hours and not minutes:
        return None
    total = timedelta(hours=float(hours.group(1)) if hours else 0)
    total += timedelta(minutes=int(minutes.group(1)) if minutes else 0)
    return total if total > timedelta(0) else None


def parse_money(text: str) -> Decimal | None:
    found = re.search(r"(\d[\d,]*(?:\.\d{1,2})?)", text)
    if not found:
        return None
    try:
        return Decimal(found.group(1).replace(",", "")).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def parse_int(text: str) -> int | None:
    found = re.search(r"\d+", text)
    return int(found.group()) if found else None


def parse_captain(text: str) -> bool | None:
    value = text.lower()
    if not value:
        return None
    return not re.search(r"\b(no|not|none|bareboat|self[- ]captain)", value)


_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


# --- The marketplaces ---------------------------------------------------------------------


@dataclass(frozen=True)
class Marketplace:
    """One marketplace's layout: its domains, labels, booking id form and event words."""

    source: str
    domains: tuple[str, ...]
    id_prefix: str
    labels: dict[str, tuple[str, ...]]
    #: (event, pattern on the subject), the first match wins
    events: tuple[tuple[str, str], ...]

    def recognises(self, *, sender_domain: str, subject: str, text: str) -> bool:
        if any(sender_domain == d or sender_domain.endswith("." + d) for d in self.domains):
            return True
        names = "|".join(re.escape(d) for d in self.domains)
        # a forwarded copy quotes the original's From line
        return bool(re.search(rf"@(?:[\w-]+\.)*(?:{names})\b", text, re.IGNORECASE))

    def event_of(self, subject: str) -> str:
        for event, pattern in self.events:
            if re.search(pattern, subject, re.IGNORECASE):
                return event
        return ""

    def booking_id(self, value: str, subject: str) -> str:
        found = re.search(rf"({re.escape(self.id_prefix)}-?)?(\d{{4,}})", value or "")
        if not found:
            found = re.search(r"#\s*(" + re.escape(self.id_prefix) + r"-?)?(\d{4,})", subject)
        return f"{self.id_prefix}-{found.group(2)}" if found else ""


COMMON_LABELS: dict[str, tuple[str, ...]] = {
    "booking_id": ("Booking ID", "Booking #", "Booking number", "Reservation ID",
                   "Reservation number", "Confirmation number", "Trip ID"),
    "boat": ("Listing", "Listing name", "Boat", "Vessel", "Boat name"),
    "date": ("Trip date", "Charter date", "Date of trip", "Booking date", "Trip day"),
    "start_time": ("Start time", "Departure time", "Pickup time", "Check-in time", "Starts"),
    "end_time": ("End time", "Return time", "Drop-off time", "Ends"),
    "duration": ("Duration", "Trip length", "Trip duration", "Length"),
    "guest_name": ("Renter", "Renter name", "Guest", "Guest name", "Customer", "Booked by"),
    "guest_email": ("Renter email", "Guest email", "Email"),
    "guest_phone": ("Renter phone", "Guest phone", "Phone", "Phone number"),
    "party_size": ("Guests", "Number of guests", "Passengers", "Number of passengers",
                   "Party size", "Group size"),
    "captain": ("Captain", "Captain option", "Captained"),
    "meeting_point": ("Meeting point", "Pickup location", "Departure location",
                      "Meeting location"),
    "boat_price": ("Boat price", "Rental price", "Trip price", "Trip subtotal", "Boat rental"),
    "service_fee": ("Service fee", "Boatsetter fee", "GetMyBoat fee", "Booking fee"),
    "captain_fee": ("Captain fee", "Captain price", "Captain cost"),
    "owner_payout": ("Your payout", "Owner payout", "Owner earnings", "Your earnings",
                     "Payout", "You earn"),
    "expires": ("Respond by", "Request expires", "Expires"),
    "status": ("Booking status", "Status"),
}  # fmt: skip

BOATSETTER = Marketplace(
    source="boatsetter",
    domains=("boatsetter.com",),
    id_prefix="BS",
    labels=COMMON_LABELS,
    events=(
        ("cancelled", r"cancel"),
        ("expired", r"expired"),
        ("changed", r"\b(changed|modified|updated|change to)\b"),
        ("confirmed", r"\b(confirmed|approved|accepted|is booked)\b"),
        ("request", r"\brequest"),
    ),
)
GETMYBOAT = Marketplace(
    source="getmyboat",
    domains=("getmyboat.com",),
    id_prefix="GMB",
    labels=COMMON_LABELS,
    events=(
        ("cancelled", r"cancel"),
        ("expired", r"expired"),
        ("changed", r"\b(altered|alteration|changed|modified|updated)\b"),
        ("confirmed", r"\b(confirmed|accepted|approved|paid)\b"),
        ("request", r"\b(request|inquiry|enquiry|offer)\b"),
    ),
)
MARKETPLACES: tuple[Marketplace, ...] = (BOATSETTER, GETMYBOAT)


@dataclass
class Parsed:
    marketplace: Marketplace
    event: str = ""
    external_id: str = ""
    found: dict[str, str] = field(default_factory=dict)
    booking: dict[str, Any] | None = None  # the BookingIn object, valid, when complete
    problems: list[str] = field(default_factory=list)
    #: when the marketplace sent the original of a forwarded or replied copy (else None)
    original_sent_at: datetime | None = None

    @property
    def complete(self) -> bool:
        return self.booking is not None


def _original_subject(lines: list[str], subject: str) -> str:
    """The subject and, for a forwarded or replied copy, the quoted original's too."""
    quoted = [
        line[len("subject:") :].strip() for line in lines if line.lower().startswith("subject:")
    ]
    return " ".join([subject, *quoted])


def marketplace_of(*, sender_domain: str, subject: str, text: str) -> Marketplace | None:
    """The marketplace a message comes from: by sender domain, else by the quoted original."""
    for market in MARKETPLACES:
        if any(sender_domain == d or sender_domain.endswith("." + d) for d in market.domains):
            return market
    for market in MARKETPLACES:
        if market.recognises(sender_domain=sender_domain, subject=subject, text=text):
            return market
    return None


def message_parse(message: Message, *, sender_domain: str) -> Parsed | None:
    """Parse one message; None when no marketplace sent it (nor is quoted in it)."""
    subject = str(message.get("Subject", "") or "")
    text = message_text(message)
    market = marketplace_of(sender_domain=sender_domain, subject=subject, text=text)
    if market is None:
        return None
    lines = text_lines(text)
    parsed = fields_parse(market, lines, subject=_original_subject(lines, subject))
    parsed.original_sent_at = original_sent_at(lines)
    return parsed


_WROTE = re.compile(r"^On (.+?\d{4}.*?\d{1,2}:\d{2}\s*(?:[ap]\.?m\.?)?).*wrote:$", re.IGNORECASE)


def original_sent_at(lines: list[str]) -> datetime | None:
    """The quoted original's date in a forward ("Date: ...") or a reply ("On ... wrote:").

    A forward is sent later than its original; ordered by the forward's own Date, an old
    confirmation forwarded after a change would undo the change. Times without a zone are
    the business's (the forwarder's mail client shows local time).
    """
    for index, line in enumerate(lines):
        text = ""
        if line.lower().startswith("date:") and any(
            "forwarded message" in earlier.lower() or earlier.lower().startswith("from:")
            for earlier in lines[max(0, index - 3) : index]
        ):
            text = line[5:].strip()
        elif found := _WROTE.match(line):
            text = found.group(1)
        if not text:
            continue
        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            value = None
        if value is None:
            day, at = parse_date(text), parse_time(text.split(" at ", 1)[-1])
            if day is None or at is None:
                continue
            value = datetime.combine(day, at, tzinfo=ZoneInfo(settings.TIME_ZONE))
        elif value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
        return value
    return None


def fields_parse(market: Marketplace, lines: list[str], *, subject: str) -> Parsed:
    found = {
        name: value for name, labels in market.labels.items() if (value := labelled(lines, labels))
    }
    parsed = Parsed(market, found=found)
    parsed.event = market.event_of(subject) or market.event_of(found.get("status", ""))
    parsed.external_id = market.booking_id(found.get("booking_id", ""), subject)
    problems = parsed.problems
    if not parsed.event:
        problems.append("event: no request/confirmed/changed/cancelled/expired in the subject")
    if not parsed.external_id:
        problems.append("booking id: not found")
    if not found.get("boat"):
        problems.append("boat: no listing name")
    zone = ZoneInfo(settings.TIME_ZONE)  # the boats' time zone (San Diego)
    day = parse_date(found.get("date", ""))
    start_at = parse_time(found.get("start_time", ""))
    start = end = None
    if day is None:
        problems.append(
            f"trip date: {'not read: ' + found['date'] if 'date' in found else 'not found'}"
        )
    elif start_at is None:
        problems.append("start time: not found")
    else:
        start = datetime.combine(day, start_at, tzinfo=zone)
        end_at = parse_time(found.get("end_time", ""))
        length = parse_duration(found.get("duration", ""))
        if length is not None:
            end = start + length
        elif end_at is not None:
            end = datetime.combine(day, end_at, tzinfo=zone)
            if end <= start:  # an evening charter ending after midnight
                end += timedelta(days=1)
        else:
            problems.append("end: no duration or end time")
    guest = found.get("guest_name", "")
    if not guest:
        problems.append("guest name: not found")
    party = parse_int(found.get("party_size", ""))
    if party is None:
        problems.append("party size: not found")
    if problems:
        return parsed
    email = _EMAIL.search(found.get("guest_email", ""))
    pricing = {
        key: str(amount)
        for key in ("boat_price", "service_fee", "captain_fee", "owner_payout")
        if (amount := parse_money(found.get(key, ""))) is not None
    }
    captain = parse_captain(found.get("captain", ""))
    deadline = parse_deadline(found.get("expires", ""))
    booking = {
        "id": parsed.external_id,
        "status": EVENT_STATUS[parsed.event],
        "boat": {"name": found["boat"][:120]},
        "start": start.isoformat(),
        "end": end.isoformat(),
        "meeting_point": found.get("meeting_point", "")[:300],
        "guest": {
            "name": guest[:200],
            "email": email.group() if email else "",
            "phone": found.get("guest_phone", "")[:40],
        },
        "party_size": party,
        "captain_required": True if captain is None else captain,
        "pricing": pricing,
        "respond_by": deadline.isoformat() if deadline else None,
    }
    try:
        parsed.booking = booking_payload_parse(booking).model_dump(mode="json")
    except InvalidPayload as exc:
        parsed.problems.extend(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
    return parsed
