"""The mailbox adapter: a ``Mailbox`` protocol, its imaplib implementation and an in-memory fake.

Domain code (``bookings.intake.mail.sources.mail_fetch``) decides what to do with a message
(store it, then mark or move it); this module only speaks IMAP. Every failure of the
server or the connection surfaces as ``ImapError``, so the caller never sees imaplib's
exception classes.
"""

from __future__ import annotations

import contextlib
import imaplib
import ssl
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

from django.conf import settings


class ImapError(Exception):
    """The mailbox could not be read or changed (connection, login, folder, a dropped link)."""


class Mailbox(Protocol):
    """One folder of a mailbox, opened with ``with``; message ids are stable (IMAP UIDs)."""

    folder: str
    move_to: str

    @property
    def address(self) -> str:
        """``user@host``, for labels and error messages."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def new_ids(self, *, limit: int) -> list[str]:
        """Ids of the messages still to read: unseen ones, or, when moving, every one left."""
        ...

    def fetch(self, message_id: str) -> bytes | None:
        """The raw bytes of a message, without marking it seen (None if it is gone)."""
        ...

    def mark_seen(self, message_id: str) -> None:
        """Flag the message ``\\Seen`` (idempotent)."""
        ...

    def move(self, message_id: str, folder: str) -> bool:
        """Move the message to ``folder`` (created if missing); False leaves it in place.

        Never deletes the original unless the copy exists.
        """
        ...


@dataclass
class ImapMailbox:
    """An IMAP folder through imaplib; TLS verifies the server's certificate."""

    host: str
    port: int
    ssl: bool
    user: str
    password: str
    folder: str = "INBOX"
    move_to: str = ""
    timeout: float = 30
    _client: imaplib.IMAP4 | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_settings(cls) -> ImapMailbox:
        return cls(
            host=settings.CHARTEROPS_MAIL_IMAP_HOST,
            port=settings.CHARTEROPS_MAIL_IMAP_PORT,
            ssl=settings.CHARTEROPS_MAIL_IMAP_SSL,
            user=settings.CHARTEROPS_MAIL_IMAP_USER,
            password=settings.CHARTEROPS_MAIL_IMAP_PASSWORD,
            folder=settings.CHARTEROPS_MAIL_IMAP_FOLDER,
            move_to=settings.CHARTEROPS_MAIL_IMAP_MOVE_TO,
        )

    @property
    def address(self) -> str:
        return f"{self.user}@{self.host}"

    def __enter__(self) -> Self:
        """Connect, log in and select the folder; raises ImapError naming what failed."""
        try:
            if self.ssl:
                # imaplib's default context verifies nothing: the app password would go to
                # anyone who answers.
                client = imaplib.IMAP4_SSL(
                    self.host,
                    self.port,
                    ssl_context=ssl.create_default_context(),
                    timeout=self.timeout,
                )
            else:
                client = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
        except OSError as exc:
            raise ImapError(f"cannot reach {self.host}:{self.port}: {exc}") from exc
        self._client = client
        try:
            client.login(self.user, self.password)
            status, _ = client.select(_quoted(self.folder))
        except (imaplib.IMAP4.error, OSError) as exc:
            self._logout()
            raise ImapError(f"{self.address}: {exc}") from exc
        if status != "OK":
            self._logout()
            raise ImapError(f"{self.address}: cannot open the folder {self.folder!r}")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._logout()

    def _logout(self) -> None:
        if self._client is not None:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                self._client.logout()
            self._client = None

    def _uid(self, command: str, *args: str | None) -> tuple[str, list]:
        if self._client is None:
            raise ImapError(f"{self.address}: not connected")
        try:
            return self._client.uid(command, *args)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise ImapError(f"{self.address}: {command} failed: {exc}") from exc

    def new_ids(self, *, limit: int) -> list[str]:
        status, data = self._uid("SEARCH", None, "ALL" if self.move_to else "UNSEEN")
        if status != "OK":
            return []
        return [uid.decode() for uid in (data[0] or b"").split()[:limit]]

    def fetch(self, message_id: str) -> bytes | None:
        status, data = self._uid("FETCH", message_id, "(BODY.PEEK[])")
        if status != "OK":
            return None
        for item in data or []:
            if isinstance(item, tuple) and len(item) == 2:
                return item[1]
        return None

    def mark_seen(self, message_id: str) -> None:
        self._uid("STORE", message_id, "+FLAGS", "(\\Seen)")

    def move(self, message_id: str, folder: str) -> bool:
        if self._move(message_id, folder):
            return True
        assert self._client is not None
        try:
            self._client.create(_quoted(folder))  # the folder may not exist yet (TRYCREATE)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise ImapError(f"{self.address}: CREATE {folder!r} failed: {exc}") from exc
        return self._move(message_id, folder)

    def _move(self, message_id: str, folder: str) -> bool:
        status, _ = self._uid("MOVE", message_id, _quoted(folder))
        if status == "OK":
            return True
        # A server without the MOVE extension: copy, and delete only once the copy exists.
        status, _ = self._uid("COPY", message_id, _quoted(folder))
        if status != "OK":
            return False
        self._uid("STORE", message_id, "+FLAGS", "(\\Deleted)")
        assert self._client is not None
        try:
            self._client.expunge()
        except (imaplib.IMAP4.error, OSError) as exc:
            raise ImapError(f"{self.address}: EXPUNGE failed: {exc}") from exc
        return True


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class InMemoryMailbox:
    """A fake mailbox for tests: messages in a dict, and a switch to drop the connection.

    ``drop_after_fetch`` makes every change (mark, move) fail as a dropped connection
    would, to prove that a message stored but not marked is stored once and marked on the
    next run.
    """

    folder: str = "INBOX"
    move_to: str = ""
    messages: dict[str, bytes] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    folders: dict[str, list[bytes]] = field(default_factory=dict)
    drop_after_fetch: bool = False
    _next: int = 1

    @property
    def address(self) -> str:
        return "fake@mailbox"

    def deliver(self, raw: bytes) -> str:
        message_id = str(self._next)
        self._next += 1
        self.messages[message_id] = raw
        return message_id

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        return None

    def new_ids(self, *, limit: int) -> list[str]:
        ids = [i for i in self.messages if self.move_to or i not in self.seen]
        return ids[:limit]

    def fetch(self, message_id: str) -> bytes | None:
        return self.messages.get(message_id)

    def _changing(self) -> None:
        if self.drop_after_fetch:
            raise ImapError(f"{self.address}: connection dropped")

    def mark_seen(self, message_id: str) -> None:
        self._changing()
        self.seen.add(message_id)

    def move(self, message_id: str, folder: str) -> bool:
        self._changing()
        self.folders.setdefault(folder, []).append(self.messages.pop(message_id))
        return True
