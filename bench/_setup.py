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
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
