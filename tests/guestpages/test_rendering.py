"""The guest page as a guest receives it: complete, escaped, self-contained and small."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from urllib.parse import unquote

import icalendar
import pytest

from crew.models import CrewAssignment
from guestpages.models import GuestPage
from guestpages.publishing import GUEST_PAGE_MAX_BYTES, guest_page_render
from tests.factories import BookingFactory, CrewAssignmentFactory, CrewMemberFactory

pytestmark = pytest.mark.django_db

HOSTILE_NAME = '<script>alert("pwned")</script> Zoë "Ace" O\'Brien 🦈⛵'
HOSTILE_PLACE = "Dock C <img src=x onerror=alert(1)> & \"slip\" 'B'"


class Page(HTMLParser):
    """Collects what matters of a rendered page: tags with attributes, scripts, styles, text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._in: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("script", "style"):
            self._in = tag
            (self.scripts if tag == "script" else self.styles).append("")

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts[-1] += data
        elif self._in == "style":
            self.styles[-1] += data
        else:
            self.text.append(data)

    def meta(self, **match) -> dict[str, str] | None:
        for tag, attrs in self.tags:
            if tag == "meta" and all(attrs.get(k) == v for k, v in match.items()):
                return attrs
        return None

    def links(self) -> list[dict[str, str]]:
        return [attrs for tag, attrs in self.tags if tag == "a"]

    @property
    def visible_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def render(booking) -> str:
    page, _ = GuestPage.objects.get_or_create(booking=booking)
    return guest_page_render(page)


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.fixture
def hostile_booking():
    return BookingFactory(
        guest_name=HOSTILE_NAME,
        meeting_point=HOSTILE_PLACE,
        boat__name='The "Queen" <b>of</b> San Diego',
        external_id="BS-4821937",
    )


def test_the_confirmation_shows_the_charter(settings):
    booking = BookingFactory(guest_name="Ana Ruiz", external_id="BS-4821937", party_size=6)
    page = Page(render(booking))
    text = page.visible_text
    assert "You're booked, Ana Ruiz!" in text
    assert "BS-4821937" in text
    local = booking.local_start
    assert local.strftime("%A, %B ") + str(local.day) in text
    assert "10:00 AM – 2:00 PM (Pacific time)" in text
    assert booking.boat.name in text
    assert "Harbor Island West Marina, dock C" in text
    assert "What to bring" in text and "Sunscreen" in text


def test_hostile_booking_text_is_escaped_everywhere(hostile_booking):
    html = render(hostile_booking)
    page = Page(html)

    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<b>of</b>" not in html
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in html
    # Text a person reads comes back exactly as typed, emoji included.
    assert HOSTILE_NAME in page.visible_text
    assert HOSTILE_PLACE in page.visible_text
    # Nothing a name could inject became markup: one script (ours), no image, no handlers.
    assert len(page.scripts) == 1
    assert not any(tag == "img" for tag, _ in page.tags)
    assert not any(k.startswith("on") for _, attrs in page.tags for k in attrs)


def test_the_page_carries_a_strict_csp_pinned_to_its_own_script_and_style(hostile_booking):
    page = Page(render(hostile_booking))
    csp = page.meta(**{"http-equiv": "Content-Security-Policy"})
    assert csp is not None
    directives = dict(d.strip().split(" ", 1) for d in csp["content"].split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == sha256_source(page.scripts[0])
    assert directives["style-src"] == sha256_source(page.styles[0])
    assert directives["base-uri"] == "'none'"
    assert "unsafe-inline" not in csp["content"] and "unsafe-eval" not in csp["content"]
    assert page.meta(name="robots")["content"].startswith("noindex")


def test_no_external_resources_and_only_known_links(hostile_booking, settings):
    html = render(hostile_booking)
    page = Page(html)
    # Nothing is loaded from anywhere: no src, no stylesheet links, no CSS urls or imports.
    assert not any("src" in attrs for _, attrs in page.tags)
    assert not any(tag in ("link", "iframe", "img", "object", "embed") for tag, _ in page.tags)
    assert "url(" not in page.styles[0] and "@import" not in page.styles[0]
    # The only absolute URLs: the map link a guest may tap, and the app's photo-drop API.
    urls = set(re.findall(r"https?://[^\s\"'<>]+", html))
    allowed_prefixes = (
        "https://www.google.com/maps/search/?api=1&",
        f"{settings.SITE_URL}/g/",
        settings.SITE_URL,  # in the CSP's connect-src
    )
    assert urls, "expected at least the map link"
    assert all(url.startswith(allowed_prefixes) for url in urls), urls


def test_the_page_is_under_30_kb_even_with_the_longest_texts():
    booking = BookingFactory(
        guest_name="🦈" * 200,
        meeting_point="<>&\"'" * 60,
        special_requests="x" * 5000,
    )
    assert len(render(booking).encode()) < GUEST_PAGE_MAX_BYTES


def test_the_map_link_searches_the_meeting_point():
    booking = BookingFactory(meeting_point="Harbor Island West Marina, dock C")
    links = Page(render(booking)).links()
    maps = [a for a in links if a["href"].startswith("https://www.google.com/maps/")]
    assert len(maps) == 1
    assert maps[0]["href"].endswith("query=Harbor%20Island%20West%20Marina%2C%20dock%20C")


def test_add_to_my_calendar_is_an_ics_of_the_charter(hostile_booking):
    links = Page(render(hostile_booking)).links()
    (ics_link,) = [a for a in links if a["href"].startswith("data:text/calendar")]
    assert ics_link["download"].endswith(".ics")
    calendar = icalendar.Calendar.from_ical(unquote(ics_link["href"].split(",", 1)[1]))
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == hostile_booking.start
    assert event.decoded("dtend") == hostile_booking.end
    assert str(event["location"]) == HOSTILE_PLACE
    assert "BS-4821937" in str(event["description"])


def test_the_captain_is_the_assignment_with_the_captain_role():
    booking = BookingFactory()
    CrewAssignmentFactory(booking=booking, role="deckhand", member__name="Dee Hand")
    CrewAssignmentFactory(
        booking=booking,
        role="captain",
        member=CrewMemberFactory(name="Cap'n <Jo>", phone="+16195550123"),
    )
    page = Page(render(booking))
    assert "Cap'n <Jo>" in page.visible_text
    assert "Dee Hand" not in page.visible_text
    assert any(a["href"] == "tel:+16195550123" for a in page.links())


def test_a_captain_who_declined_is_not_shown():
    booking = BookingFactory()
    CrewAssignmentFactory(
        booking=booking,
        role="captain",
        member__name="Nope Skipper",
        response=CrewAssignment.Response.DECLINED,
    )
    text = Page(render(booking)).visible_text
    assert "Nope Skipper" not in text
    assert "Your captain will be confirmed" in text


def test_the_photo_drop_points_at_the_apps_presign_endpoint(settings):
    booking = BookingFactory()
    page = GuestPage.objects.create(booking=booking)
    drop = next(attrs for tag, attrs in Page(guest_page_render(page)).tags if tag == "section")
    assert drop["data-presign-url"] == f"{settings.SITE_URL}/g/{page.page_id}/presign"
    assert drop["data-confirm-url"] == f"{settings.SITE_URL}/g/{page.page_id}/photos"


def test_rendering_is_deterministic():
    booking = BookingFactory()
    assert render(booking) == render(booking)


@pytest.mark.parametrize("status", ["cancelled", "expired"])
def test_the_cancelled_page_has_no_personal_data(hostile_booking, status):
    hostile_booking.guest_email = "zoe@example.com"
    hostile_booking.status = status
    hostile_booking.save()
    html = render(hostile_booking)
    page = Page(html)
    assert "This charter was cancelled" in page.visible_text
    for private in ("Zo", "BS-4821937", "zoe@example.com", "+1619", "Queen", "Dock C"):
        assert private not in html
    assert page.scripts == []
    assert page.meta(name="robots")["content"].startswith("noindex")


def test_a_booking_back_to_pending_says_not_confirmed(hostile_booking):
    hostile_booking.status = "pending"
    hostile_booking.save()
    text = Page(render(hostile_booking)).visible_text
    assert "not confirmed" in text
    assert "Zo" not in text


def test_page_ids_are_random_long_lowercase_and_unique():
    pages = [GuestPage.objects.create(booking=BookingFactory()) for _ in range(20)]
    ids = {p.page_id for p in pages}
    assert len(ids) == 20
    for page in pages:
        assert re.fullmatch(r"[a-z0-9]{10,32}", page.page_id)
        assert page.booking.reference.lower() not in page.page_id
