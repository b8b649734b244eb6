"""What posting costs: lost invoices and payments are looked up together where the provider can
search many at once, and drafting a claim reads the database a fixed number of times however many
sales it holds."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from invoices.models import OutboxAttempt, OutboxEntry
from invoices.services.outbox import NewSaleLine, record_sale
from invoices.services.posting import ClaimReads, build_draft, claim_due_entries, post_due_outbox_entries
from tests import factories

State = OutboxEntry.State


def test_a_lost_batch_of_50_invoices_is_looked_up_in_one_call(xero, xero_connection, mug_on_xero, sell):
    sales = [sell(f"S-{n:02d}", mug_on_xero) for n in range(50)]
    # Xero wrote the batch, but no answer to the call (nor to the session's retries) came back.
    xero.lose_next_response(times=4, match="nvoices")
    now = timezone.now()
    post_due_outbox_entries(connection=xero_connection, now=now)
    xero.reset_calls()

    post_due_outbox_entries(connection=xero_connection, now=now + timedelta(minutes=1))

    entries = OutboxEntry.objects.filter(sale__in=sales)
    assert {(e.state, e.attempt_log.order_by("pk").last().outcome) for e in entries} == {
        (State.POSTED, OutboxAttempt.Outcome.FOUND_EXISTING)
    }
    assert (xero.calls("GET", "Invoices"), xero.calls("PUT", "Invoices")) == (1, 0)
    assert len(xero.invoices()) == 50


def test_invoices_of_a_lost_batch_that_never_arrived_are_sent_after_one_lookup(
    xero, xero_connection, mug_on_xero, sell
):
    sales = [sell(f"S-{n:02d}", mug_on_xero) for n in range(10)]
    xero.fail_next(503, times=4, match="nvoices")
    now = timezone.now()
    post_due_outbox_entries(connection=xero_connection, now=now)
    xero.reset_calls()

    post_due_outbox_entries(connection=xero_connection, now=now + timedelta(minutes=1))

    assert {e.state for e in OutboxEntry.objects.filter(sale__in=sales)} == {State.POSTED}
    assert (xero.calls("GET", "Invoices"), xero.calls("PUT", "Invoices")) == (1, 1)
    assert sorted(i["reference"] for i in xero.invoices()) == [s.number for s in sales]


def test_a_provider_without_the_search_for_many_looks_up_each_lost_invoice(
    sage, sage_connection, sell, tenant
):
    product = factories.ProductFactory(tenant=tenant, sku="MUG-1")
    remote_id = sage.add_product(code=product.sku, name=product.name, price=product.sale_price)
    factories.ProductLinkFactory(connection=sage_connection, product=product, remote_id=remote_id)
    sage_connection.cash_sale_contact_id = sage.add_customer(name="Counter sales")
    sage_connection.save()
    sales = [sell(f"S-{n}", product) for n in range(3)]
    sage.lose_next_response(times=12, match="sales_invoices")
    now = timezone.now()
    post_due_outbox_entries(connection=sage_connection, now=now)
    sage.reset_calls()

    post_due_outbox_entries(connection=sage_connection, now=now + timedelta(minutes=1))

    assert {e.state for e in OutboxEntry.objects.filter(sale__in=sales)} == {State.POSTED}
    assert (sage.calls("GET", "sales_invoices"), sage.calls("POST", "sales_invoices")) == (3, 0)


def test_a_lost_batch_of_payments_is_looked_up_in_one_call(xero, xero_connection, mug_on_xero, tenant):
    xero_connection.payment_accounts = {"card": "090"}
    xero_connection.save()
    line = NewSaleLine(product=mug_on_xero, quantity=Decimal(1), unit_price=Decimal("10.00"))
    sales = [
        record_sale(tenant=tenant, number=f"S-{n}", lines=[line], payment_method="card", paid=True)
        for n in range(20)
    ]
    xero.lose_next_response(times=4, match="Payments")
    now = timezone.now()
    post_due_outbox_entries(connection=xero_connection, now=now)
    xero.reset_calls()

    post_due_outbox_entries(connection=xero_connection, now=now + timedelta(minutes=1))

    payments = OutboxEntry.objects.filter(sale__in=sales, kind=OutboxEntry.Kind.PAYMENT)
    assert {(e.state, e.attempt_log.order_by("pk").last().outcome) for e in payments} == {
        (State.POSTED, OutboxAttempt.Outcome.FOUND_EXISTING)
    }
    assert (xero.calls("GET", "Payments"), xero.calls("PUT", "Payments")) == (1, 0)
    assert len(xero.payments()) == 20


@pytest.fixture
def linked_sale(tenant, xero, xero_connection, sell):
    """`linked_sale(number)`: a sale of 3 products, every other one to a customer, all already
    linked on Xero (a chosen cash-sale contact for the rest)."""
    xero_connection.cash_sale_contact_id = xero.add_customer(name="Counter sales")
    xero_connection.save()

    def make(number: int):
        products = [
            factories.ProductLinkFactory(
                connection=xero_connection, product=factories.ProductFactory(tenant=tenant)
            ).product
            for _ in range(3)
        ]
        customer = None
        if number % 2:
            customer = factories.CustomerLinkFactory(
                connection=xero_connection, customer=factories.CustomerFactory(tenant=tenant)
            ).customer
        return sell(f"S-{number:03d}", products, customer=customer)

    return make


def drafting_queries(connection) -> tuple[int, int]:
    """Claim what is due and draft it: how many drafts, and the queries the drafting took."""
    entries = claim_due_entries(connection=connection, now=timezone.now(), limit=200)
    with CaptureQueriesContext(db_connection) as queries:
        reads = ClaimReads.of(entries, connection)
        drafts = [build_draft(entry, reads) for entry in entries]
    assert all(len(draft.lines) == 3 for draft in drafts)
    return len(drafts), len(queries)


def test_drafting_50_sales_takes_no_more_queries_than_drafting_5(xero_connection, linked_sale):
    for number in range(5):
        linked_sale(number)
    drafts_of_5, queries_for_5 = drafting_queries(xero_connection)
    for number in range(5, 55):
        linked_sale(number)

    drafts_of_50, queries_for_50 = drafting_queries(xero_connection)

    assert (drafts_of_5, drafts_of_50) == (5, 50)
    assert queries_for_50 == queries_for_5 <= 3
