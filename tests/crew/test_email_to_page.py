"""The crew email's Accept/Decline buttons land on the answer form of the charter page."""

import html as html_lib
import re

import pytest
from django.conf import settings
from django.core import mail

from crew.notifications import booking_crew_notify
from tests.factories import CrewAssignmentFactory

pytestmark = pytest.mark.django_db


def test_email_buttons_open_the_charter_page_at_its_answer_form(client):
    assignment = CrewAssignmentFactory()
    booking_crew_notify(assignment.booking)
    body = next(alt[0] for alt in mail.outbox[-1].alternatives if alt[1] == "text/html")
    accept = re.search(r'href="([^"]+#respond)"[^>]*>Accept<', body)
    assert accept, "the email has an Accept button pointing at #respond"
    link, fragment = html_lib.unescape(accept.group(1)).split("#")
    page = client.get(link.removeprefix(settings.SITE_URL), follow=True)
    assert page.status_code == 200
    assert f'id="{fragment}"' in page.content.decode()
