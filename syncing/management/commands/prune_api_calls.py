"""`manage.py prune_api_calls [--days 30]`: delete the API-call log past its retention."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from syncing.services import maintenance


class Command(BaseCommand):
    help = "Delete API-call log rows older than the retention period; hourly usage counts are kept."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=settings.API_CALL_RETENTION_DAYS,
            help="Keep this many days of calls (default: API_CALL_RETENTION_DAYS, %(default)s).",
        )

    def handle(self, *args, days, **options):
        if days < 1:
            raise CommandError("--days must be at least 1: the log of today's calls is always kept.")
        deleted = maintenance.prune_api_calls(older_than=timedelta(days=days))
        self.stdout.write(f"Deleted {deleted} API call(s) older than {days} day(s); usage counts kept.")
