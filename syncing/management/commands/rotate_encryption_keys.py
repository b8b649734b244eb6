"""`manage.py rotate_encryption_keys`: re-encrypt stored credentials under the newest key."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from syncing.services import maintenance


class Command(BaseCommand):
    help = (
        "Re-encrypt every connection's credentials under the first key of FIELD_ENCRYPTION_KEY. "
        "Put the new key first, run this, then remove the old key."
    )

    def handle(self, *args, **options):
        rotated = maintenance.rotate_encryption_keys()
        self.stdout.write(f"Re-encrypted {rotated} stored secret(s) under the newest key.")
