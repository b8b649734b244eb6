"""`manage.py sync_products --connection 7` or `--tenant alices-shop`: pull changed products now."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from connectors.base import Capability
from syncing.models import Connection, SyncRun
from syncing.services import products


def describe(run: SyncRun) -> str:
    """One line per run: what it did, or why it did nothing."""
    line = (
        f"{run.connection}: {run.get_kind_display().lower()} {run.get_status_display().lower()}, "
        f"{run.fetched} fetched, {run.created} created, {run.updated} updated, "
        f"{run.unchanged} unchanged, {run.failed} failed, {run.api_calls} API calls"
    )
    return f"{line}. {run.error_summary}" if run.error_summary else f"{line}."


class ConnectionSyncCommand(BaseCommand):
    """Shared shape of the per-connection sync commands: pick connections, run, report."""

    capability = Capability.PULL_PRODUCTS
    noun = "products"

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--connection", type=int, help="Connection id.")
        which.add_argument("--tenant", help="Tenant slug: every active connection of that tenant.")

    def run_service(self, connection: Connection, on_page) -> SyncRun:
        return products.pull_changed_products(
            connection=connection, trigger=SyncRun.Trigger.MANUAL, on_page=on_page
        )

    def connections(self, options) -> list[Connection]:
        found = Connection.objects.select_related("tenant").order_by("pk")
        if options["connection"]:
            found = list(found.filter(pk=options["connection"]))
            if not found:
                raise CommandError(f"There is no connection with id {options['connection']}.")
        else:
            found = list(found.filter(tenant__slug=options["tenant"], status=Connection.Status.ACTIVE))
            if not found:
                raise CommandError(f"Tenant {options['tenant']!r} has no active connection.")
        able = [c for c in found if c.spec.can(self.capability)]
        if not able:
            raise CommandError(f"None of these connections can sync {self.noun}.")
        return able

    def handle(self, *args, **options):
        failures = []
        for connection in self.connections(options):
            with tqdm(desc=str(connection), unit=" records", disable=not sys.stderr.isatty()) as bar:
                run = self.run_service(connection, bar.update)
            self.stdout.write(describe(run))
            if run.status == SyncRun.Status.FAILED:
                failures.append(str(connection))
        if failures:
            raise CommandError(f"The {self.noun} sync failed for {', '.join(failures)}.")


class Command(ConnectionSyncCommand):
    help = "Pull the products that changed since the last pull."
