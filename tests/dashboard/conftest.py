"""Dashboard fixtures: Alice's shop with one of everything the pages show, and signed-in clients."""

from __future__ import annotations

import pytest
from django.test import Client

from invoices.models import OutboxEntry
from syncing.models import SyncRun
from tests import factories


@pytest.fixture
def client_for():
    """`client_for(user)` -> a test client signed in as that user."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


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
