"""The IMAP door against a real Dovecot on a loopback port: new mail stored once, then marked
seen or moved; the same message arriving twice is a duplicate."""

from __future__ import annotations

import dataclasses
import imaplib
import ssl
from io import StringIO

import pytest
from django.core.management import call_command

from bookings.intake.mail.models import InboundEmail
from bookings.intake.mail.sources import mail_fetch
from bookings.integrations.imap import ImapError, ImapMailbox, InMemoryMailbox
from tests.bookings.dovecot import dovecot_running
from tests.bookings.email_support import eml

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def dovecot():
    with dovecot_running() as server:
        yield server


@pytest.fixture
def imap(dovecot):
    """A connection to a fresh folder of the mailbox (each test its own)."""
    client = imaplib.IMAP4(dovecot.host, dovecot.port)
    client.login(dovecot.user, dovecot.password)
    yield client
    client.logout()


def fresh_folder(imap, name: str) -> str:
    imap.create(f'"{name}"')
    return name


def deliver(imap, folder: str, raw: bytes) -> None:
    status, _ = imap.append(f'"{folder}"', None, None, raw)
    assert status == "OK"


def box(dovecot, folder: str, **kwargs) -> ImapMailbox:
    return ImapMailbox(
        host=dovecot.host,
        port=dovecot.port,
        ssl=False,
        user=dovecot.user,
        password=dovecot.password,
        folder=folder,
        **kwargs,
    )


def flags(imap, folder: str) -> list[bytes]:
    imap.select(f'"{folder}"')
    status, data = imap.uid("FETCH", "1:*", "(FLAGS)")
    return [item for item in data if item]


def test_new_messages_are_stored_then_marked_seen_and_a_second_copy_is_a_duplicate(
    dovecot, imap, queen
):
    folder = fresh_folder(imap, "Bookings-seen")
    deliver(imap, folder, eml("boatsetter__confirmed__both_parts"))
    deliver(imap, folder, eml("boatsetter__request__expires"))
    deliver(imap, folder, eml("boatsetter__confirmed__both_parts"))  # arrives twice

    results = mail_fetch(box(dovecot, folder))

    assert [r.duplicate for r in results] == [False, False, True]
    assert InboundEmail.objects.count() == 2
    confirmed = InboundEmail.objects.get(event="confirmed")
    assert confirmed.via == "imap" and confirmed.times_seen == 2
    assert confirmed.status == "proposed" and confirmed.authenticated
    assert confirmed.envelope["folder"] == folder
    assert all(b"\\Seen" in f for f in flags(imap, folder))
    # the next poll finds nothing new
    assert mail_fetch(box(dovecot, folder)) == []


def test_messages_can_be_moved_once_stored(dovecot, imap, queen):
    folder = fresh_folder(imap, "Bookings-move")
    deliver(imap, folder, eml("boatsetter__changed__new_time"))

    results = mail_fetch(box(dovecot, folder, move_to="Bookings-done"))

    assert len(results) == 1 and results[0].email.event == "changed"
    imap.select(f'"{folder}"')
    assert imap.uid("SEARCH", None, "ALL")[1] == [b""]
    imap.select('"Bookings-done"')
    assert len(imap.uid("SEARCH", None, "ALL")[1][0].split()) == 1


def test_a_wrong_password_is_an_error_a_person_can_act_on(dovecot):
    wrong = dataclasses.replace(box(dovecot, "INBOX"), password="nope")
    with pytest.raises(ImapError, match="bookings@127.0.0.1"):
        mail_fetch(wrong)


def test_mail_fetch_command_prints_one_line_per_message(dovecot, imap, queen, settings):
    folder = fresh_folder(imap, "Bookings-command")
    deliver(imap, folder, eml("boatsetter__unknown__new_layout"))
    settings.CHARTEROPS_MAIL_IMAP_HOST = dovecot.host
    settings.CHARTEROPS_MAIL_IMAP_PORT = dovecot.port
    settings.CHARTEROPS_MAIL_IMAP_SSL = False
    settings.CHARTEROPS_MAIL_IMAP_USER = dovecot.user
    settings.CHARTEROPS_MAIL_IMAP_PASSWORD = dovecot.password
    settings.CHARTEROPS_MAIL_IMAP_FOLDER = folder
    out = StringIO()

    call_command("mail_fetch", stdout=out)
    call_command("mail_fetch", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"imap:{folder}/1: stored #") and "unparsed" in lines[0]
    assert lines[1] == "no new messages"


def test_the_beat_task_polls_the_configured_mailbox(dovecot, imap, queen, settings):
    from bookings.tasks import mail_fetch_task

    folder = fresh_folder(imap, "Bookings-task")
    deliver(imap, folder, eml("boatsetter__request__expires"))
    settings.CHARTEROPS_MAIL_IMAP_HOST = dovecot.host
    settings.CHARTEROPS_MAIL_IMAP_PORT = dovecot.port
    settings.CHARTEROPS_MAIL_IMAP_SSL = False
    settings.CHARTEROPS_MAIL_IMAP_USER = dovecot.user
    settings.CHARTEROPS_MAIL_IMAP_PASSWORD = dovecot.password
    settings.CHARTEROPS_MAIL_IMAP_FOLDER = folder

    assert mail_fetch_task() == 1
    assert mail_fetch_task() == 0
    assert InboundEmail.objects.get().event == "request"


def test_tls_to_the_mailbox_verifies_the_certificate(dovecot, monkeypatch):
    """imaplib's default TLS context verifies nothing; the app password must not go to anyone
    who answers. A server that does not speak TLS is an ImapError, not a crash."""
    contexts = []
    real = imaplib.IMAP4_SSL

    def spy(*args, ssl_context=None, **kwargs):
        contexts.append(ssl_context)
        return real(*args, ssl_context=ssl_context, **kwargs)

    monkeypatch.setattr(imaplib, "IMAP4_SSL", spy)
    with pytest.raises(ImapError):
        mail_fetch(dataclasses.replace(box(dovecot, "INBOX"), ssl=True))
    (context,) = contexts
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_a_connection_dropped_between_store_and_mark_stores_once_and_marks_next_run(queen):
    """The real server cannot be made to drop the link at that instant; the fake can."""
    fake = InMemoryMailbox(folder="Bookings", drop_after_fetch=True)
    message_id = fake.deliver(eml("boatsetter__confirmed__both_parts"))

    with pytest.raises(ImapError, match="connection dropped"):
        mail_fetch(fake)
    assert fake.new_ids(limit=10) == [message_id]  # still new: not marked
    stored = InboundEmail.objects.get()

    fake.drop_after_fetch = False
    (again,) = mail_fetch(fake)

    assert again.duplicate and again.email.pk == stored.pk
    assert InboundEmail.objects.count() == 1
    stored.refresh_from_db()
    assert stored.times_seen == 2 and stored.status == "proposed"
    assert fake.seen == {message_id} and mail_fetch(fake) == []


def test_a_move_dropped_midway_keeps_the_message_and_moves_it_next_run(queen):
    fake = InMemoryMailbox(folder="Bookings", move_to="Done", drop_after_fetch=True)
    fake.deliver(eml("boatsetter__changed__new_time"))

    with pytest.raises(ImapError):
        mail_fetch(fake)
    assert len(fake.messages) == 1 and not fake.folders  # nothing lost, nothing moved

    fake.drop_after_fetch = False
    (again,) = mail_fetch(fake)

    assert again.duplicate and InboundEmail.objects.count() == 1
    assert not fake.messages and len(fake.folders["Done"]) == 1
