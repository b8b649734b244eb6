"""`manage.py sync_product SKU-00001 --tenant alices-shop [--connection 7]`: refresh one product."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from syncing.management.commands.sync_products import describe
from syncing.models import Connection, SyncRun, Tenant
from syncing.services import products


class Command(BaseCommand):
    help = "Refresh one product and its stock from the provider, in a couple of calls."

    def add_arguments(self, parser):
        parser.add_argument("sku")
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--connection", type=int, help="Only this connection (default: every one).")

    def handle(self, *args, sku, tenant, connection, **options):
        try:
            tenant = Tenant.objects.get(slug=tenant)
        except Tenant.DoesNotExist:
            raise CommandError(f"There is no tenant {tenant!r}.") from None
        if connection:
            try:
                connection = tenant.connections.get(pk=connection)
            except Connection.DoesNotExist:
                raise CommandError(f"{tenant} has no connection with id {connection}.") from None
        try:
            run = products.sync_product(connection=connection, sku=sku, tenant=tenant)
        except Connection.DoesNotExist as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(describe(run))
        if run.status == SyncRun.Status.FAILED:
            raise CommandError(f"Product {sku} could not be synced: {run.error_summary}")
