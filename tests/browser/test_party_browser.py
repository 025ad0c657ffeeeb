"""A guest on a phone: the confirmation email's link, two names, two adults sign the waiver;
the captain's page shows 2/2 and "All waivers signed" ticked itself. axe-core on every new page.

Real headless Chromium at a phone viewport, the embedded default (the app serves the page).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import mail

from crew.checklist import checklist_progress, checklist_scaffold
from crew.magic_links import crew_magic_link
from crew.models import ChecklistItem
from guestpages.messages import booking_guest_notify
from guestpages.models import WaiverSignature
from guestpages.publishing import guest_page_publish
from tests import factories
from tests.services import require

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"


def violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("critical", "serious")
    ]


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_guest_names_the_party_two_adults_sign_and_the_crew_page_shows_it(
    phone_context, live_server, settings, artifacts_dir
):
    require(AXE.exists(), "axe-core from npm (make axe)")
    settings.SITE_URL = live_server.url
    settings.CHARTEROPS_GUEST_PAGE_ORIGIN = live_server.url
    booking = factories.BookingFactory(
        guest_name="Ana Ruiz", guest_email="ana@example.com", party_size=2
    )
    captain = factories.CrewAssignmentFactory(
        booking=booking, role="captain", member__name="Cap Lee"
    )
    template = factories.ChecklistTemplateFactory(boat=None, name="Default")
    factories.ChecklistTemplateItemFactory(template=template, text="Fuel check", required=False)
    checklist_scaffold(booking)
    guest_page_publish(booking)
    booking_guest_notify(booking)

    # The link the guest really received.
    (message,) = [m for m in mail.outbox if m.to == ["ana@example.com"]]
    link = re.search(r"https?://\S+/g/[a-z0-9]+", message.body).group(0)
    assert link.startswith(live_server.url)

    page = phone_context.new_page()
    errors: list[str] = []
    # Script and CSP errors; a status is not one (the favicon's 404, the deliberate 400).
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.goto(local(link))
    page.get_by_role("link", name="Add your party and sign the waivers").click()
    page.get_by_role("heading", name="Who is coming aboard").wait_for()
    assert violations(page) == []

    # A mistake first: an empty name is a sentence, not a lost form.
    page.fill("#id_name", "Mia Ruiz")
    page.fill("#id_phone", "not a phone")
    page.get_by_role("button", name="Save the emergency contact").click()
    page.get_by_role("alert").wait_for()
    assert "does not look like a phone number" in page.get_by_role("alert").inner_text()
    assert page.input_value("#id_name") == "Mia Ruiz"
    page.fill("#id_phone", "619 555 0142")
    page.get_by_role("button", name="Save the emergency contact").click()
    page.get_by_text("The emergency contact is saved.").wait_for()

    for name in ("Ana Ruiz", "Bo Ruiz"):
        page.get_by_label("Full name of a person coming aboard").fill(name)
        page.get_by_role("button", name="Add to the list").click()
        page.get_by_text(f"{name} is on the list.").wait_for()
    assert page.get_by_text("Everyone in your party is on the list.").is_visible()
    page.screenshot(path=str(artifacts_dir / "guest-party-phone.png"), full_page=True)

    for name in ("Ana Ruiz", "Bo Ruiz"):
        page.locator("li", has_text=name).get_by_role("link", name="Sign the waiver").click()
        page.get_by_role("heading", name=f"Waiver for {name}").wait_for()
        if name == "Ana Ruiz":
            assert violations(page) == []
            page.screenshot(path=str(artifacts_dir / "guest-waiver-phone.png"), full_page=True)
        assert page.get_by_label("18 or over on the day of the charter").is_checked()
        page.get_by_label("Type your full name to sign").fill(name)
        page.get_by_label("I have read the waiver above and accept it.").check()
        page.get_by_role("button", name="Sign the waiver").click()
        page.get_by_text(f"Signed by {name}").wait_for()
        page.get_by_role("link", name="Back to your party's list").click()
    page.get_by_text("2 of 2 named · 2 of 2 waivers signed").wait_for()
    assert page.locator(".ok", has_text="waiver signed").count() == 2
    assert errors == []
    assert WaiverSignature.objects.filter(booking=booking).count() == 2

    # The captain's page: the party, 2/2, and the item that ticked itself.
    crew = phone_context.new_page()
    crew.goto(local(crew_magic_link(captain)))
    manifest = crew.locator("#manifest")
    manifest.wait_for()
    assert "2/2 waivers signed" in manifest.inner_text()
    assert "Ana Ruiz" in manifest.inner_text() and "Mia Ruiz" in manifest.inner_text()
    item = crew.locator("#checklist li", has_text="All waivers signed")
    assert "Ticked itself" in item.inner_text() and "done" in item.get_attribute("class")
    crew.screenshot(path=str(artifacts_dir / "crew-page-party-phone.png"), full_page=True)
    assert violations(crew) == []
    assert ChecklistItem.objects.get(booking=booking, auto_key="waivers_signed").done
    assert checklist_progress(booking).ready  # the booking list's "ready" flag follows it
