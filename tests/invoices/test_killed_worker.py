"""A worker SIGKILLed while its invoice request is in flight leaves the entry claimed with its
outcome unknown; once the claim expires, the next run ends with exactly one remote invoice, for
Xero and for Sage. The worker is a real `manage.py post_outbox` process on the test database."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection as db
from django.utils import timezone

from invoices.models import OutboxAttempt, OutboxEntry
from invoices.services.posting import CLAIM_TTL, post_due_outbox_entries
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

State = OutboxEntry.State

# The request that carries a sale to each provider, as the emulator's call log names it.
INVOICE_REQUEST = {"xero": ("PUT", "/Invoices"), "sage": ("POST", "/sales_invoices")}
SALES_ACCOUNT = {"xero": "200", "sage": "4000"}


class Stall:
    """Holds the first invoice request inside the emulator until `release()`: before its handler
    runs (the provider has it, nothing is written yet) or after (written, the answer not sent)."""

    def __init__(self, app, method: str, path: str, *, after_write: bool):
        self.reached = threading.Event()
        self._released = threading.Event()
        dispatch = app.dispatch

        def stalling_dispatch(request):
            if request.method != method or path not in request.path or self.reached.is_set():
                return dispatch(request)
            self.reached.set()
            if not after_write:
                self._released.wait(60)
            response = dispatch(request)
            if after_write:
                self._released.wait(60)
            return response

        app.dispatch = stalling_dispatch

    def release(self) -> None:
        self._released.set()


@pytest.fixture(params=["xero", "sage"])
def provider(request, start_emulator, connect, product):
    """(key, emulator, connection) with the product linked and a cash-sale contact chosen, so
    posting a sale is one invoice request."""
    key = request.param
    app = start_emulator(key)
    connection = connect(app, key, sales_account_code=SALES_ACCOUNT[key])
    remote_id = app.add_product(code=product.sku, name=product.name, price=product.sale_price)
    factories.ProductLinkFactory(connection=connection, product=product, remote_id=remote_id)
    connection.cash_sale_contact_id = app.add_customer(name="Counter sales")
    connection.save()
    return key, app, connection


def database_url_of_this_test() -> str:
    """DATABASE_URL naming the database this test runs on, for a child process."""
    db_settings = db.settings_dict
    if db.vendor == "sqlite":
        return f"sqlite:///{db_settings['NAME']}"
    user, password = quote(db_settings["USER"] or ""), quote(db_settings["PASSWORD"] or "")
    return (
        f"postgres://{user}:{password}@{db_settings['HOST'] or '127.0.0.1'}:{db_settings['PORT'] or 5432}"
        f"/{db_settings['NAME']}"
    )


def start_worker(connection) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "post_outbox", "--connection", str(connection.pk)],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url_of_this_test()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def kill_while_in_flight(worker: subprocess.Popen, stall: Stall) -> None:
    try:
        assert stall.reached.wait(60), worker.communicate(timeout=5)[0]
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=10) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.stdout.close()


def wait_for_requests(app, method: str, path: str, count: int) -> None:
    """Until the emulator has finished answering `count` such requests (or dropped them)."""
    deadline = time.monotonic() + 30
    while app.calls(method, path) < count:
        assert time.monotonic() < deadline, f"the emulator never finished {method} {path}"
        time.sleep(0.05)


def remote_references(app) -> list[str]:
    return sorted(invoice["reference"] for invoice in app.invoices())


def test_worker_killed_after_the_provider_wrote_leaves_one_invoice_per_sale(provider, sell, product):
    key, app, connection = provider
    sales = [sell(f"S-{n}", product) for n in (1, 2, 3)]
    method, path = INVOICE_REQUEST[key]
    stall = Stall(app, method, path, after_write=True)
    worker = start_worker(connection)

    kill_while_in_flight(worker, stall)
    stall.release()
    wait_for_requests(app, method, path, 1)
    # Xero took all three in one batch; Sage took S-1 alone.
    written = {"xero": ["S-1", "S-2", "S-3"], "sage": ["S-1"]}[key]
    assert remote_references(app) == written
    entries = OutboxEntry.objects.filter(sale__in=sales)
    assert set(entries.values_list("state", flat=True)) == {State.IN_FLIGHT}
    assert sorted(entries.filter(outcome_unknown=True).values_list("sale__number", flat=True)) == written
    # Until their claim expires, the dead worker's entries are left alone.
    assert post_due_outbox_entries(connection=connection).claimed == 0

    summary = post_due_outbox_entries(
        connection=connection, now=timezone.now() + CLAIM_TTL + timedelta(minutes=1)
    )

    assert (summary.found_existing, summary.posted) == (len(written), 3 - len(written))
    assert remote_references(app) == ["S-1", "S-2", "S-3"]
    remote_ids = {invoice["reference"]: invoice["remote_id"] for invoice in app.invoices()}
    for entry in entries.select_related("sale"):
        assert (entry.state, entry.remote_id) == (State.POSTED, remote_ids[entry.sale.number])
    assert OutboxAttempt.objects.filter(outcome=OutboxAttempt.Outcome.FOUND_EXISTING).count() == len(written)


def test_killed_workers_request_written_late_is_absorbed_by_the_idempotency_key(provider, sell, product):
    key, app, connection = provider
    sales = [sell(f"S-{n}", product) for n in (1, 2, 3)]
    method, path = INVOICE_REQUEST[key]
    stall = Stall(app, method, path, after_write=False)
    worker = start_worker(connection)
    kill_while_in_flight(worker, stall)

    # The next run finds nothing by reference (the dead worker's request is still queued in the
    # provider) and sends again under the same key; then the provider gets to the old request.
    later = timezone.now() + CLAIM_TTL + timedelta(minutes=1)
    summary = post_due_outbox_entries(connection=connection, now=later)
    stall.release()
    writes = {"xero": 1, "sage": 3}[key]
    wait_for_requests(app, method, path, writes + 1)

    assert summary.posted == 3
    assert remote_references(app) == ["S-1", "S-2", "S-3"]
    remote_ids = {invoice["reference"]: invoice["remote_id"] for invoice in app.invoices()}
    for entry in OutboxEntry.objects.filter(sale__in=sales).select_related("sale"):
        assert entry.remote_id == remote_ids[entry.sale.number]
