"""`manage.py ensure_schedules`: create or update every periodic job (safe to run on each deploy)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from syncing.schedules import ensure_schedules


class Command(BaseCommand):
    help = "Create or update the django-q2 schedules of the sync engine."

    def handle(self, *args, **options):
        names = ensure_schedules()
        self.stdout.write(f"{len(names)} schedules in place: {', '.join(names)}.")
