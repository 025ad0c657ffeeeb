"""Helpers for the crew portal tests: open a charter as a member the way crew do (magic link)."""

from __future__ import annotations

from urllib.parse import urlsplit

from crew.magic_links import crew_magic_link
from tests import factories


def open_as(client, assignment) -> None:
    """Follow the member's magic link once, as from the email; the session then carries on."""
    parts = urlsplit(crew_magic_link(assignment))
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 302, response


def checklist(booking, *, pre: int, post: int = 0, required_every: int = 1) -> list:
    items = []
    for phase, count in (("pre", pre), ("post", post)):
        for n in range(count):
            items.append(
                factories.ChecklistItemFactory(
                    booking=booking,
                    phase=phase,
                    text=f"{phase} item {n}",
                    position=n,
                    required=n % required_every == 0,
                )
            )
    return items
