"""`manage.py sync_stock --connection 7` or `--tenant alices-shop`: pull changed stock now."""

from __future__ import annotations

from connectors.base import Capability
from syncing.management.commands.sync_products import ConnectionSyncCommand
from syncing.models import Connection, SyncRun
from syncing.services import stock


class Command(ConnectionSyncCommand):
    help = "Pull the stock positions that changed since the last pull."
    capability = Capability.PULL_STOCK
    noun = "stock"

    def run_service(self, connection: Connection, on_page) -> SyncRun:
        return stock.pull_changed_stock(
            connection=connection, trigger=SyncRun.Trigger.MANUAL, on_page=on_page
        )
