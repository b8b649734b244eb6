"""`manage.py demo [--no-serve] [--port 8000]`: the product on its embedded defaults."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from syncing.services import demo


class Command(BaseCommand):
    help = (
        "Migrate, create the demo logins and merchant, start the Xero and Lightspeed emulators, "
        "connect the merchant to both through their consent pages, then serve the site with a "
        "django-q2 cluster."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help="Set everything up and check the connections, then stop (emulators included).",
        )
        parser.add_argument("--port", type=int, default=8000, help="Port for the site (default 8000).")
        for key, port in demo.EMULATOR_PORTS.items():
            parser.add_argument(
                f"--{key}-port", type=int, default=port, help=f"Port for the {key} emulator (default {port})."
            )

    def handle(self, *args, no_serve, port, **options):
        site_url = f"http://127.0.0.1:{port}"
        emulator_ports = {key: options[f"{key}_port"] for key in demo.EMULATOR_PORTS}
        try:
            environment = demo.set_up(site_url=site_url, emulator_ports=emulator_ports)
        except demo.DemoError as exc:
            raise CommandError(str(exc)) from exc
        for connection, server in zip(environment.connections, environment.emulators, strict=True):
            self.stdout.write(f"Connected {connection} through the consent page of {server.url}")
        if no_serve:
            environment.stop()
            self.stdout.write(f"Demo ready; the site was not started (--no-serve).{self._logins()}")
            return
        self.stdout.write(f"Demo running at {site_url}/ (admin at {site_url}/admin/).{self._logins()}")
        demo.serve(environment, port=port)

    @staticmethod
    def _logins() -> str:
        staff, merchant = demo.STAFF_LOGIN, demo.MERCHANT_LOGIN
        return f"\n  staff:    {staff[0]} / {staff[1]}\n  merchant: {merchant[0]} / {merchant[1]}"
