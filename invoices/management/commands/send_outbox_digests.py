"""`manage.py send_outbox_digests`: send the daily outbox digest now."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from invoices.services.notifications import send_outbox_digests


class Command(BaseCommand):
    help = "Email each shop's owners one list of the failed sales not yet emailed about one by one."

    def handle(self, *args, **options):
        summary = send_outbox_digests()
        self.stdout.write(f"{summary['tenants']} digest(s) sent, listing {summary['entries']} sale(s).")
