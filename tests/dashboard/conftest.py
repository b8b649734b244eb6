"""Dashboard fixtures: Alice's shop with one of everything the pages show, and signed-in clients."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test import Client

from invoices.models import OutboxEntry
from syncing.models import SyncRun
from tests import factories
from tests.dashboard.browser import CHROMIUM


@pytest.fixture
def client_for():
    """`client_for(user)` -> a test client signed in as that user."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def browser_page(monkeypatch):
    """A page in Debian's chromium, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls made later in the
    # test (none touch the browser's loop) are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()
            # With the loop running, Django keeps the test's database connections in the loop's
            # context, not the thread's: closed here, or they outlive the test database.
            connections.close_all()


@pytest.fixture
def shop(tenant):
    """Alice's shop: a Xero connection with a linked product, a failed run and a given-up sale."""
    connection = factories.ConnectionFactory(tenant=tenant, provider="xero")
    link = factories.ProductLinkFactory(connection=connection)
    customer_link = factories.CustomerLinkFactory(connection=connection)
    run = factories.SyncRunFactory(connection=connection, status=SyncRun.Status.FAILED)
    entry = factories.OutboxEntryFactory(
        sale__tenant=tenant,
        connection=connection,
        state=OutboxEntry.State.GIVEN_UP,
        provider_messages=["Account code '200' is not a valid code for this document."],
    )
    return {
        "connection": connection,
        "product": link.product,
        "customer": customer_link.customer,
        "run": run,
        "entry": entry,
    }
