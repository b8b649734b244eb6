"""`manage.py sweep_products --connection 7 [--size 200]`: re-check the stalest product links now."""

from __future__ import annotations

from connectors.base import Capability
from syncing.management.commands.sync_products import ConnectionSyncCommand
from syncing.models import Connection, SyncRun
from syncing.services import products


class Command(ConnectionSyncCommand):
    help = "Re-check the products confirmed longest ago, to find ones the change feed missed."
    capability = Capability.FIND_PRODUCTS_BY_IDS
    noun = "product sweep"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--size", type=int, help="How many links to re-check (default: the connection's)."
        )

    def handle(self, *args, **options):
        self.size = options["size"]
        super().handle(*args, **options)

    def run_service(self, connection: Connection, on_page) -> SyncRun:
        run = products.sweep_stale_products(
            connection=connection, size=self.size, trigger=SyncRun.Trigger.MANUAL
        )
        on_page(run.fetched)
        return run
