"""`manage.py sync_customers --connection 7` or `--tenant alices-shop`: pull changed customers now."""

from __future__ import annotations

from connectors.base import Capability
from syncing.management.commands.sync_products import ConnectionSyncCommand
from syncing.models import Connection, SyncRun
from syncing.services import customers


class Command(ConnectionSyncCommand):
    help = "Pull the customers (contacts) that changed since the last pull, linking or importing them."
    capability = Capability.PULL_CUSTOMERS
    noun = "customers"

    def run_service(self, connection: Connection, on_page) -> SyncRun:
        return customers.pull_changed_customers(
            connection=connection, trigger=SyncRun.Trigger.MANUAL, on_page=on_page
        )
