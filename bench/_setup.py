"""Shared start-up for benchmarks: Django on a throwaway database, emulators on loopback."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def django_on_scratch_database() -> None:
    """Configure Django against DATABASE_URL if given, else a fresh SQLite file, and migrate."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if "DATABASE_URL" not in os.environ:
        scratch = Path(tempfile.mkdtemp(prefix="synchub-bench-")) / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{scratch}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "syncsite.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    # As in production. With DEBUG on, Django keeps the SQL of the last 9,000 queries in memory,
    # bulk statements and all: memory that grows with the catalogue but is not the sync's.
    settings.DEBUG = False
    call_command("migrate", verbosity=0)


def connected_emulator(tenant, key: str, *, products: int, registers: int = 1):
    """Seed and serve `key`'s emulator and connect `tenant` to it with a budget that never binds.
    Returns (emulator app, loopback server, Connection)."""
    from django.utils.module_loading import import_string

    from connectors.emulation import serve
    from connectors.registry import get_provider

    # Lightspeed's emulator sizes its rate limit by registers, as Lightspeed does.
    options = {"registers": registers} if key == "vend" else {}
    app = import_string(get_provider(key).emulator)(**options)
    app.seed(products=products, customers=0, locations=2)
    server = serve(app)
    connection = connect(tenant, key, app.issue_credentials(), base_url=server.url, registers=registers)
    return app, server, connection


def connect(tenant, key: str, issued: dict, *, base_url: str, registers: int = 1):
    """An active connection of `tenant` to the emulator at `base_url` with the credentials it
    issued, on a budget that never binds."""
    from syncing.models import Connection

    return Connection.objects.create(
        tenant=tenant,
        provider=key,
        status=Connection.Status.ACTIVE,
        base_url=base_url,
        credentials=issued["credentials"],
        token_expires_at=issued.get("token_expires_at"),
        remote_org_id=issued["remote_org_id"],
        remote_org_name=issued["remote_org_name"],
        monthly_call_limit=10**9,
        registers=registers,
    )
