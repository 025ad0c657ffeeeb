"""Adding a crew member is one form: the login account is made, roles are checkboxes."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from charterops.models import AuditEvent
from crew.members import crew_member_create
from crew.models import CrewMember

pytestmark = pytest.mark.django_db
ADD = reverse("admin:crew_crewmember_add")


def _post(client, **fields):
    page = client.get(ADD)
    data = {
        "name": "Marisol Quintero",
        "email": "marisol@example.com",
        "phone": "+16195550142",
        "roles": ["captain", "deckhand"],
        "notify_by": "email",
        "active": "on",
    }
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(fields)
    return client.post(ADD, data)


def test_the_add_form_has_role_checkboxes_and_no_user_field(superuser_client):
    page = superuser_client.get(ADD).content.decode()
    assert 'type="checkbox" name="roles" value="captain"' in page
    assert 'name="user"' not in page


def test_adding_a_member_makes_their_account_and_an_audit_row(superuser_client):
    response = _post(superuser_client)
    assert response.status_code == 302, response.context["adminform"].form.errors
    member = CrewMember.objects.get(email="marisol@example.com")
    assert member.roles == ["captain", "deckhand"]
    assert member.user.email == "marisol@example.com"
    assert member.user.username == "marisol"
    assert not member.user.has_usable_password() and not member.user.is_staff
    assert AuditEvent.objects.filter(action="crew.crew_member.created").count() == 1


def test_a_second_member_with_the_same_mailbox_name_gets_a_free_username(superuser_client):
    crew_member_create(name="Marisol Q", email="marisol@example.org")
    assert _post(superuser_client).status_code == 302
    usernames = set(get_user_model().objects.values_list("username", flat=True))
    assert {"marisol", "marisol-2"} <= usernames


def test_a_bad_email_is_a_form_error_and_makes_no_account(superuser_client):
    before = get_user_model().objects.count()
    response = _post(superuser_client, email="not-an-email")
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    assert get_user_model().objects.count() == before


def test_the_change_page_shows_the_account_read_only_and_edits_roles(superuser_client):
    member = crew_member_create(name="Tom Hale", email="tom@example.com", roles=["deckhand"])
    url = reverse("admin:crew_crewmember_change", args=[member.pk])
    page = superuser_client.get(url)
    assert 'name="user"' not in page.content.decode()
    assert member.user.username in page.content.decode()
    data = {
        "name": "Tom Hale",
        "email": "tom@example.com",
        "phone": "",
        "roles": ["first_mate"],
        "notify_by": "sms",
        "active": "on",
    }
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    assert superuser_client.post(url, data).status_code == 302
    member.refresh_from_db()
    assert (member.roles, member.notify_by) == (["first_mate"], "sms")
