"""The dispatcher's desk in a real Chromium at 1280 px: it fits, and axe-core finds nothing critical.

axe-core comes from its npm package, installed by ``make axe`` (part of ``make test``) into
``tests/browser/axe/node_modules``; nothing is downloaded while the tests run.
"""

from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.week_board import week_start
from charterops.models import TargetState
from tests.factories import (
    BoatFactory,
    BookingFactory,
    ChecklistItemFactory,
    CrewAssignmentFactory,
    CrewMemberFactory,
    NotificationFactory,
)
from tests.services import require

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
DESK = {"width": 1280, "height": 900}
GUESTS = [
    "Ana Ruiz",
    "Benedikt Okafor-Schmidt",
    "Chloé Nguyen",
    "Diego Haddad",
    "Emma Kowalski",
    "Farid Moreau",
]


@pytest.fixture
def week(db):
    """Three boats, a week of charters with two crew each, checklists and target rows."""
    boats = [BoatFactory(name=n) for n in ("Jada", "Sea Breeze", "Zephyr")]
    crew = [CrewMemberFactory(name=n) for n in ("Marisol Quintero", "Tom Hale", "Priya Iyer")]
    monday = week_start(timezone.localdate())
    bookings = []
    for n in range(12):
        day = monday + timedelta(days=n % 7)
        start = datetime.combine(day, time(9 + 5 * (n % 2)), tzinfo=timezone.get_current_timezone())
        booking = BookingFactory(
            boat=boats[n % 3],
            guest_name=GUESTS[n % len(GUESTS)],
            start=start,
            end=start + timedelta(hours=4),
            meeting_point="Harbor Island West Marina, dock C",
        )
        for k, response in enumerate(("accepted", "invited" if n % 3 else "declined")):
            member = crew[(n + k) % 3]
            CrewAssignmentFactory(booking=booking, member=member, response=response)
            NotificationFactory(booking=booking, member=member)
        for k in range(4):
            ChecklistItemFactory(booking=booking, done_at=timezone.now() if k < n % 5 else None)
        done = ("calendar", "crew", "checklist", "guest_notify")
        for target, status in ((name, "done") for name in done):
            TargetState.objects.create(booking=booking, target=target, status=status)
        TargetState.objects.create(
            booking=booking,
            target="guest_page",
            status="failed" if n == 4 else "done",
            last_error="bucket not found" if n == 4 else "",
        )
        bookings.append(booking)
    return bookings


@pytest.fixture
def desk(browser_context, chromium, live_server, django_user_model):
    """A logged-in dispatcher's page at 1280 px."""
    require(AXE.exists(), "axe-core from npm (make axe)")
    django_user_model.objects.create_superuser("dispatch", "d@example.com", "harbor-lights-7")
    context = chromium.new_context(base_url=live_server.url, viewport=DESK)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/admin/login/")
    page.fill("#id_username", "dispatch")
    page.fill("#id_password", "harbor-lights-7")
    page.click("input[type=submit]")
    yield page
    context.close()


def critical_violations(page) -> list[str]:
    """axe-core's critical violations on the page, one line each (rule: first elements)."""
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']}: {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] == "critical"
    ]


def test_the_booking_list_fits_1280_px_and_has_no_critical_violation(desk, week, artifacts_dir):
    desk.goto(reverse("admin:bookings_booking_changelist"))
    assert desk.locator("#result_list tbody tr").count() == len(week)
    desk.screenshot(path=str(artifacts_dir / "booking-list-1280.png"), full_page=True)
    overflow = desk.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the list scrolls sideways by {overflow} px"
    hidden = desk.evaluate(
        "(() => { const r = document.querySelector('#changelist .results');"
        " return r.scrollWidth - r.clientWidth; })()"
    )
    assert hidden <= 0, f"the table's last {hidden} px are scrolled out of its box"
    assert desk.locator("#booking-legend").is_visible()
    assert desk.locator(".co-sr", has_text="Guest page: Failed.").count() == 1
    assert critical_violations(desk) == []


def test_the_booking_page_has_no_critical_violation(desk, week):
    desk.goto(reverse("admin:bookings_booking_change", args=[week[0].pk]))
    assert desk.input_value("#id_guest_name") == week[0].guest_name
    assert critical_violations(desk) == []


def test_moving_a_charter_onto_another_asks_first_and_the_question_is_accessible(desk, week):
    """week[3] and week[0] share a boat: moving week[3] onto week[0]'s hours asks first."""
    desk.goto(reverse("admin:bookings_booking_change", args=[week[0].pk]))
    day = desk.input_value("#id_start_0")
    desk.goto(reverse("admin:bookings_booking_change", args=[week[3].pk]))
    for field, value in (("start_0", day), ("start_1", "09:00:00"), ("end_0", day)):
        desk.fill(f"#id_{field}", value)
    desk.fill("#id_end_1", "13:00:00")
    with desk.expect_navigation():
        desk.click("input[name=_save]")
    question = desk.locator("#id_save_despite_overlap")
    assert question.is_visible()
    assert week[0].reference in desk.locator("#id_save_despite_overlap_error").inner_text()
    assert critical_violations(desk) == []
    week[3].refresh_from_db()
    assert not week[3].double_booked  # nothing saved yet
    desk.check("#id_save_despite_overlap")
    desk.click("input[name=_save]")
    desk.wait_for_url("**/admin/bookings/booking/")
    week[3].refresh_from_db()
    assert week[3].double_booked and week[3].start == week[0].start


def test_the_crew_member_page_has_no_critical_violation(desk, week):
    member = week[0].assignments.first().member
    desk.goto(reverse("admin:crew_crewmember_change", args=[member.pk]))
    assert desk.input_value("#id_name") == member.name
    assert critical_violations(desk) == []
    desk.goto(reverse("admin:crew_crewmember_add"))
    assert critical_violations(desk) == []


def test_the_week_board_shows_the_week_and_a_click_opens_the_booking(desk, week, artifacts_dir):
    desk.goto(reverse("admin:bookings_booking_week"))
    assert desk.locator(".co-card").count() == len(week)
    assert desk.locator("thead th[aria-current=date]").count() == 1
    overflow = desk.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the board scrolls sideways by {overflow} px"
    desk.screenshot(path=str(artifacts_dir / "week-board-1280.png"), full_page=True)
    assert critical_violations(desk) == []
    desk.locator(".co-card", has_text=week[0].guest_name).first.click()
    desk.wait_for_url(f"**/admin/bookings/booking/{week[0].pk}/change/")
    desk.goto(reverse("admin:bookings_booking_week") + "?view=today")
    assert critical_violations(desk) == []
