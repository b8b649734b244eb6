"""GET /sales/{id} lists, per connection, every outbox entry that carries the sale: its invoice or
credit note, its payment, or the daily summary it is counted in and that summary's payment."""

import pytest
from django.db import connection as db
from django.test import Client
from django.test.utils import CaptureQueriesContext

from invoices.services.posting import post_due_outbox_entries
from syncing.models import Connection
from tests import factories

SOLD_AT = "2026-11-20T10:00:00+00:00"


@pytest.fixture(autouse=True)
def mug(tenant):
    return factories.ProductFactory(tenant=tenant, sku="MUG-1", name="Blue mug")


@pytest.fixture
def detailed(tenant):
    return factories.ConnectionFactory(tenant=tenant, provider="xero")


@pytest.fixture
def summarised(tenant):
    return factories.ConnectionFactory(
        tenant=tenant, provider="xero", posting_mode=Connection.PostingMode.DAILY_SUMMARY
    )


@pytest.fixture
def xero(start_emulator):
    return start_emulator("xero")


@pytest.fixture
def xero_connection(xero, connect):
    # "200" is Sales and "090" a bank account in the emulator's chart, as in Xero's demo company.
    return connect(
        xero,
        "xero",
        sales_account_code="200",
        payment_accounts={"card": "090"},
        cash_sale_contact_id=xero.add_customer(name="Counter sales"),
    )


def record(api, number="S-1001", **fields):
    body = {
        "number": number,
        "sold_at": SOLD_AT,
        "lines": [{"sku": "MUG-1", "quantity": "2", "unit_price": "6.00"}],
        **fields,
    }
    response = api.post("/api/v1/sales", body, content_type="application/json")
    assert response.status_code == 201, response.json()
    return response.json()


def postings(api, sale):
    response = api.get(f"/api/v1/sales/{sale['id']}")
    assert response.status_code == 200
    return response.json()["postings"]


def test_a_paid_sale_shows_its_invoice_and_its_payment(api, detailed):
    sale = record(api, paid=True, payment_method="card")

    assert [(p["connection"], p["kind"], p["reference"], p["state"]) for p in postings(api, sale)] == [
        (detailed.pk, "invoice", "S-1001", "pending"),
        (detailed.pk, "payment", "S-1001", "pending"),
    ]


def test_a_refund_shows_its_credit_note(api, detailed):
    record(api, "S-1001")
    refund = record(api, "R-1", refund_of="S-1001")

    assert [(p["kind"], p["reference"]) for p in postings(api, refund)] == [("credit_note", "R-1")]


def test_a_daily_summary_connection_shows_the_summary_the_sale_is_in(api, summarised):
    record(api, "S-1000", paid=True, payment_method="card")
    sale = record(api, "S-1001", paid=True, payment_method="card")

    summary, payment = postings(api, sale)

    assert (summary["kind"], summary["business_day"], summary["reference"]) == (
        "daily_summary",
        "2026-11-20",
        "Daily sales 2026-11-20",
    )
    assert (payment["kind"], payment["reference"]) == ("payment", "Daily sales 2026-11-20 card")


def test_an_unpaid_sale_in_a_summary_does_not_show_the_summarys_payment(api, summarised):
    record(api, "S-1000", paid=True, payment_method="card")
    sale = record(api, "S-1001")

    assert [p["kind"] for p in postings(api, sale)] == ["daily_summary"]


def test_each_connection_shows_its_own_entries(api, detailed, summarised):
    sale = record(api)

    assert [(p["connection"], p["kind"]) for p in postings(api, sale)] == [
        (detailed.pk, "invoice"),
        (summarised.pk, "daily_summary"),
    ]


def test_a_posted_sale_shows_the_providers_number_and_when_it_posted(api, xero, xero_connection):
    sale = record(api, paid=True, payment_method="card")
    post_due_outbox_entries(connection=xero_connection)

    invoice, payment = postings(api, sale)

    [remote] = xero.invoices()
    assert (invoice["state"], invoice["remote_id"]) == ("posted", remote["remote_id"])
    assert invoice["remote_number"] == xero.org.invoices[remote["remote_id"]]["InvoiceNumber"]
    assert invoice["posted_at"] is not None
    assert (payment["state"], payment["remote_id"]) == ("posted", xero.payments()[0]["remote_id"])


def test_a_refused_sale_shows_the_providers_message(api, xero, xero_connection):
    xero_connection.sales_account_code = "999"
    xero_connection.save()
    sale = record(api)
    post_due_outbox_entries(connection=xero_connection)

    [invoice] = postings(api, sale)

    assert invoice["state"] == "needs_attention"
    assert invoice["provider_messages"] == ["Account code '999' is not a valid code for this document."]
    assert "Account code '999'" in invoice["last_error"]


def test_reading_a_sale_costs_the_same_queries_however_many_entries_it_has(api, tenant, detailed):
    few = record(api, "S-1")
    factories.ConnectionFactory.create_batch(2, tenant=tenant, provider="xero")
    factories.ConnectionFactory(
        tenant=tenant, provider="xero", posting_mode=Connection.PostingMode.DAILY_SUMMARY
    )
    refunded = record(api, "S-2", paid=True, payment_method="card")
    many = record(api, "R-2", refund_of="S-2", paid=True, payment_method="card")

    counts = []
    for sale in (few, refunded, many):
        with CaptureQueriesContext(db) as queries:
            found = postings(api, sale)
        counts.append((len(found), len(queries)))

    assert [entries for entries, _ in counts] == [1, 8, 8]
    assert len({queried for _, queried in counts}) == 1


def test_another_tenants_sale_is_not_found(api, strangers_api, detailed):
    sale = record(api)

    assert strangers_api.get(f"/api/v1/sales/{sale['id']}").status_code == 404


def test_a_wrong_key_cannot_read_a_sale(api, detailed):
    sale = record(api)
    wrong = Client(headers={"Authorization": "Bearer not-a-real-key"})

    response = wrong.get(f"/api/v1/sales/{sale['id']}")

    assert response.status_code == 401
    assert "postings" not in response.json()
