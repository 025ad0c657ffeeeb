"""Celery tasks of the bookings app."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone


@shared_task(name="bookings.calendar_reconcile", acks_late=True, ignore_result=True)
def calendar_reconcile_task(days_back: int = 1, days_ahead: int = 120, fix: bool = False) -> int:
    """Nightly (beat): compare the calendar with the bookings and record the findings for the
    admin; repairs only with ``fix``. Safe to re-run: a run replaces the previous findings.
    Not retried: the next night's run is the retry. Returns the number of findings.
    """
    from .calendar.drift import calendar_reconcile

    today = timezone.localdate()
    report = calendar_reconcile(
        start=today - timedelta(days=days_back), end=today + timedelta(days=days_ahead), fix=fix
    )
    return len(report.findings)


@shared_task(name="bookings.photo_grants_sweep", acks_late=True, ignore_result=True)
def photo_grants_sweep_task() -> int:
    """Every 15 minutes (beat): remove the objects of upload grants that expired unconfirmed.
    Idempotent; not retried (a grant whose delete failed is swept by the next run). Returns
    how many grants it swept.
    """
    from .photos.uploads import photo_grants_sweep

    return photo_grants_sweep()


@shared_task(name="bookings.webhook_deliveries_drain", acks_late=True, ignore_result=True)
def webhook_deliveries_drain_task(lease_token: str | None = None) -> int:
    """Apply queued webhook deliveries: woken by the webhook (with a lease, see
    charterops.wakeup) and run every minute by beat as the backstop for lost wake-ups and
    for retries. Runs a bounded batch and, when deliveries remain, queues itself again so
    other work interleaves. Returns how many it applied.
    """
    from .intake.webhook import intake_queue, webhook_deliveries_drain

    done, more = webhook_deliveries_drain(lease_token=lease_token)
    if more:
        webhook_deliveries_drain_task.apply_async(
            kwargs={"lease_token": lease_token}, queue=intake_queue() or None
        )
    return done


@shared_task(name="bookings.webhook_deliveries_help", acks_late=True, ignore_result=True)
def webhook_deliveries_help_task() -> int:
    """Help a woken drain through a backlog: apply full batches of queued deliveries while
    there are some, then stop (see bookings.intake.webhook.webhook_deliveries_help). Safe to
    run any number of times at once (SKIP LOCKED claims); not retried: the woken drain and
    beat's run cover whatever a lost helper leaves. Returns how many it applied.
    """
    from .intake.webhook import webhook_deliveries_help

    return webhook_deliveries_help()


@shared_task(name="bookings.mail_fetch", acks_late=True, ignore_result=True)
def mail_fetch_task() -> int:
    """Poll the IMAP mailbox (beat, when CHARTEROPS_MAIL_IMAP_HOST is set): store every new
    message, then mark or move it. Idempotent (the store dedupes); not retried, the next
    poll is the retry. Returns how many messages it read.
    """
    from .intake.mail.sources import mail_fetch
    from .integrations.imap import ImapMailbox

    return len(mail_fetch(ImapMailbox.from_settings()))


@shared_task(name="bookings.inbound_emails_unread_process", acks_late=True, ignore_result=True)
def inbound_emails_unread_process_task() -> int:
    """Beat's backstop: read inbound emails stored but left unread (idempotent; the next run
    is the retry). Returns how many it read."""
    from .intake.mail.proposals import inbound_emails_unread_process

    return inbound_emails_unread_process()
