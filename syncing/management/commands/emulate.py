"""`manage.py emulate xero [--port 8101] [--seed-products 50]`: one provider's emulator, in the foreground."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from connectors.errors import UnknownProvider
from connectors.registry import all_providers
from syncing.services import demo


class Command(BaseCommand):
    help = "Serve a provider's emulator on 127.0.0.1 with seeded data until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("provider", help=f"One of: {', '.join(all_providers())}.")
        parser.add_argument("--port", type=int, default=0, help="Port to listen on (default: any free port).")
        parser.add_argument("--seed-products", type=int, default=20, help="Products to seed (default 20).")
        parser.add_argument("--seed-customers", type=int, default=10, help="Customers to seed (default 10).")

    def handle(self, *args, provider, port, seed_products, seed_customers, **options):
        try:
            server = demo.start_emulator(
                provider, port=port, seed_products=seed_products, seed_customers=seed_customers
            )
        except UnknownProvider:
            raise CommandError(
                f"No provider is called {provider!r}; choose one of {', '.join(all_providers())}."
            ) from None
        except demo.DemoError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{server.app.name} emulator on {server.url} with {seed_products} products and "
            f"{seed_customers} customers; Ctrl-C stops it."
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
