"""Celery task of the charter record: render (and, for damage, mail) one PDF version."""

from __future__ import annotations

from celery import shared_task

from . import documents


@shared_task(
    name="crew.voyage_document_render",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=5,
)
def voyage_document_render_task(self, document_id: int) -> None:
    """Render, store and (damage) mail one record version. Idempotent; carries only the id.

    Storage errors retry with exponential backoff (30 s, 60 s, ... up to 5 times); the row
    stays ``pending`` and is visible on the booking until then.
    """
    try:
        documents.voyage_document_render(document_id)
    except OSError as exc:
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc
