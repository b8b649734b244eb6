"""`manage.py post_outbox [--connection 7]`: post the due outbox entries now."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from connectors.base import Capability
from invoices.services import posting
from syncing.models import Connection


class Command(BaseCommand):
    help = "Post the sales waiting in the outbox to their providers."

    def add_arguments(self, parser):
        parser.add_argument(
            "--connection", type=int, help="Only this connection (default: every active one)."
        )

    def handle(self, *args, connection, **options):
        if connection:
            try:
                connections = [Connection.objects.select_related("tenant").get(pk=connection)]
            except Connection.DoesNotExist:
                raise CommandError(f"There is no connection with id {connection}.") from None
        else:
            connections = [
                c
                for c in Connection.objects.filter(status=Connection.Status.ACTIVE).select_related("tenant")
                if c.spec.can(Capability.POST_INVOICES)
            ]
        for target in connections:
            summary = posting.post_due_outbox_entries(connection=target)
            self.stdout.write(
                f"{target}: {summary.claimed} due, {summary.posted} posted, "
                f"{summary.found_existing} already there, {summary.retrying} to retry, "
                f"{summary.rate_limited} rate limited, {summary.needs_attention} need attention, "
                f"{summary.given_up} given up."
            )
