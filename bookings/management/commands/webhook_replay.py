"""``manage.py webhook_replay --failed | --ids 12 13``: process stored deliveries again."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from bookings.intake.webhook import webhook_deliveries_failed, webhook_delivery_replay
from bookings.models import WebhookDelivery


class Command(BaseCommand):
    help = (
        "Re-process stored webhook deliveries (e.g. after a secret or a boat was fixed). "
        "Safe to repeat: events already applied answer 'duplicate'."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument(
            "--failed",
            action="store_true",
            help="every delivery refused for its signature or content, or left unfinished",
        )
        which.add_argument("--ids", nargs="+", type=int, metavar="ID", help="delivery ids")
        parser.add_argument("--source", help="only deliveries from this source")

    def handle(self, *args, failed: bool, ids: list[int] | None, source: str | None, **options):
        deliveries = (
            webhook_deliveries_failed() if failed else WebhookDelivery.objects.filter(pk__in=ids)
        )
        if source:
            deliveries = deliveries.filter(source=source)
        deliveries = list(deliveries.order_by("received_at", "id"))
        if ids:
            missing = set(ids) - {d.pk for d in deliveries}
            if missing:
                raise CommandError(f"no delivery with id {', '.join(map(str, sorted(missing)))}")
        totals: dict[str, int] = {}
        for delivery in deliveries:
            result = webhook_delivery_replay(delivery, actor="cli")
            totals[result.outcome] = totals.get(result.outcome, 0) + 1
            detail = f" ({result.error})" if result.error else ""
            self.stdout.write(
                f"{delivery.pk} {delivery.event_id or '-'}: {result.http_status} {result.outcome}{detail}"
            )
        summary = ", ".join(f"{n} {o}" for o, n in sorted(totals.items())) or "nothing to replay"
        self.stdout.write(f"Replayed {len(deliveries)} delivery(ies): {summary}.")
