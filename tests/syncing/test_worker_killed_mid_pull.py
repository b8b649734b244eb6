"""A worker process killed in the middle of a product pull loses nothing and costs no re-read: the
pages it committed stay, with their cursor; its run is marked stalled once its heartbeat is older
than a lease lives; the next run starts at the cursor and fetches only the pages left."""

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection as db
from django.utils import timezone

from syncing.models import Product, SyncLease, SyncRun
from syncing.services.leases import LEASE_TTL
from syncing.services.products import pull_changed_products
from syncing.services.runs import mark_stalled_runs

# A store serving at most 1,000 records a page, whatever the feed asks for: 3,500 products are
# pages of 1,000, 1,000, 1,000 and 500 by version cursor; the short 500 ends the read.
PAGE = 1_000
PRODUCTS = 3_500
WAIT_SECONDS = 60


def database_url() -> str:
    """The test database, for a child process started the way an operator starts a worker."""
    database = db.settings_dict
    if db.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
    return f"postgres://{database['USER']}{password}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


def wait_for(condition, what: str, worker: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if worker is not None and worker.poll() is not None:
            raise AssertionError(f"the worker ended before {what}: {worker.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_killed_worker_resumes_after_its_last_committed_page(start_emulator, connect):
    emulator = start_emulator("vend", max_page_size=PAGE)
    emulator.seed(products=PRODUCTS, customers=0, locations=2)
    connection = connect(emulator, "vend")

    # The emulator holds the third page's answer until the test lets go: the worker is killed
    # while it waits for it, after committing page 2.
    asked_after: list[str] = []
    release = threading.Event()

    def slow_third_page(request):
        if request.path.endswith("/products"):
            asked_after.append(request.params["after"])
            if len(asked_after) == 3:
                release.wait(WAIT_SECONDS)

    emulator.fault_source = slow_third_page
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "sync_products", "--connection", str(connection.pk)],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: len(asked_after) == 3, "the worker to ask for page 3", worker)
        page_2_cursor = asked_after[2]

        def page_2_committed():
            connection.refresh_from_db(fields=["cursors"])
            return connection.cursors.get("products") == page_2_cursor

        wait_for(page_2_committed, "page 2 to be committed", worker)
        worker.kill()
        worker.wait(WAIT_SECONDS)
    finally:
        release.set()
        if worker.poll() is None:
            worker.kill()
            worker.wait(WAIT_SECONDS)

    killed = SyncRun.objects.get(connection=connection, kind=SyncRun.Kind.PRODUCTS)
    assert (killed.status, killed.cursor_after, killed.fetched) == (
        SyncRun.Status.RUNNING,
        page_2_cursor,
        2 * PAGE,
    )
    assert Product.objects.filter(tenant=connection.tenant).count() == 2 * PAGE

    # A lease's lifetime passes without a heartbeat: the run is over, and its lease with it.
    later = timezone.now() + LEASE_TTL + timedelta(seconds=1)
    assert mark_stalled_runs(later) == 1
    killed.refresh_from_db()
    assert killed.status == SyncRun.Status.STALLED
    SyncLease.objects.filter(connection=connection, kind=SyncRun.Kind.PRODUCTS).update(
        expires_at=timezone.now()
    )

    # The dead worker's third request is answered into a closed socket once let go; it must be in
    # the emulator's log before the count for the next run starts.
    wait_for(lambda: emulator.calls("GET", "/products") == 3, "the held page to be answered")
    emulator.fault_source = None
    emulator.reset_calls()
    resumed = pull_changed_products(connection=connection, trigger=SyncRun.Trigger.SCHEDULE)

    assert resumed.status == SyncRun.Status.SUCCEEDED
    left = PRODUCTS - 2 * PAGE
    assert (resumed.cursor_before, resumed.fetched, resumed.created) == (page_2_cursor, left, left)
    # Pages 3 and 4: the largest page the killed run saw was kept, so the short page 4 ends it.
    assert emulator.calls("GET", "/products") == 2
    local = Product.objects.filter(tenant=connection.tenant).values_list("sku", "name", "sale_price")
    remote = [(p["code"], p["name"], p["price"]) for p in emulator.products()]
    assert sorted(local) == sorted(remote)
