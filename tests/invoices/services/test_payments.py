"""A paid sale records its payment against its posted invoice, into the account mapped for its
payment method, with the same exactly-once guarantees as the invoice."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from invoices.models import OutboxAttempt, OutboxEntry
from invoices.services.outbox import NewSaleLine, record_sale
from invoices.services.posting import cancel_outbox_entry, post_due_outbox_entries
from tests import factories

State = OutboxEntry.State
Kind = OutboxEntry.Kind


@pytest.fixture
def pay(tenant, product):
    """`pay("S-1", method="card")` records a paid sale of one mug at 10.00."""

    def make(number, *, method="card", price="10.00"):
        line = NewSaleLine(product=product, quantity=Decimal(1), unit_price=Decimal(price))
        return record_sale(tenant=tenant, number=number, lines=[line], payment_method=method, paid=True)

    return make


@pytest.fixture
def xero_paid(xero, xero_connection, mug_on_xero):
    xero_connection.payment_accounts = {"card": "090", "cash": "091"}
    xero_connection.save()
    return xero_connection


@pytest.fixture
def sage_paid(sage, sage_connection, product):
    remote_id = sage.add_product(code=product.sku, name=product.name, price=product.sale_price)
    factories.ProductLinkFactory(connection=sage_connection, product=product, remote_id=remote_id)
    sage_connection.cash_sale_contact_id = sage.add_customer(name="Counter sales")
    sage_connection.payment_accounts = {"card": "1200", "cash": "1210"}
    sage_connection.save()
    return sage_connection


def entry(sale, kind):
    return sale.outbox_entries.get(kind=kind)


def test_paid_sale_posts_its_invoice_then_its_payment_into_the_account_for_its_method(xero, xero_paid, pay):
    sale = pay("S-1", method="cash")

    summary = post_due_outbox_entries(connection=xero_paid)

    [invoice] = xero.invoices()
    [payment] = xero.payments()
    assert summary.posted == 2
    assert (payment["document_id"], payment["account_code"], payment["amount"]) == (
        invoice["remote_id"],
        "091",
        Decimal("10.00"),
    )
    assert entry(sale, Kind.PAYMENT).remote_id == payment["remote_id"]
    assert xero.org.invoices[invoice["remote_id"]]["Status"] == "PAID"
    assert (xero.calls("PUT", "/api.xro/2.0/Invoices"), xero.calls("PUT", "/api.xro/2.0/Payments")) == (1, 1)


def test_payments_of_many_sales_go_in_one_batch(xero, xero_paid, pay):
    for n in range(3):
        pay(f"S-{n}")

    post_due_outbox_entries(connection=xero_paid)

    assert len(xero.payments()) == 3
    assert xero.calls("PUT", "/api.xro/2.0/Payments") == 1


def test_payment_waits_until_its_invoice_is_posted(xero, xero_paid, pay):
    sale = pay("S-1")
    xero.fail_next(503, times=4, match="/Invoices")
    now = timezone.now()

    post_due_outbox_entries(connection=xero_paid, now=now)

    assert entry(sale, Kind.INVOICE).state == State.RETRYING
    assert entry(sale, Kind.PAYMENT).state == State.PENDING
    assert xero.calls("PUT", "/api.xro/2.0/Payments") == 0

    post_due_outbox_entries(connection=xero_paid, now=now + timedelta(minutes=5))

    assert entry(sale, Kind.PAYMENT).state == State.POSTED
    assert [p["document_id"] for p in xero.payments()] == [entry(sale, Kind.INVOICE).remote_id]


def test_unmapped_method_falls_back_to_the_connections_payment_account(xero, xero_paid, pay):
    xero_paid.payment_account_code = "090"
    xero_paid.save()
    pay("S-1", method="voucher")

    post_due_outbox_entries(connection=xero_paid)

    assert [p["account_code"] for p in xero.payments()] == ["090"]


def test_payment_method_without_an_account_needs_attention_in_one_sentence(xero, xero_paid, pay):
    sale = pay("S-1", method="voucher")

    post_due_outbox_entries(connection=xero_paid)

    payment = entry(sale, Kind.PAYMENT)
    assert entry(sale, Kind.INVOICE).state == State.POSTED
    assert payment.state == State.NEEDS_ATTENTION
    assert payment.last_error == (
        "Xero needs an account to record voucher payments in. "
        "Choose one under payment accounts in the connection settings."
    )
    assert xero.payments() == []


def test_payment_refused_by_xero_needs_attention_with_xeros_message(xero, xero_paid, pay):
    xero_paid.payment_accounts = {"card": "200"}  # Sales: not a bank account
    xero_paid.save()
    sale = pay("S-1")

    post_due_outbox_entries(connection=xero_paid)

    payment = entry(sale, Kind.PAYMENT)
    assert payment.state == State.NEEDS_ATTENTION
    assert payment.last_error.startswith("Xero refused the payment: Payments can only be made to BANK")


def test_xero_payment_reply_lost_once_is_recovered_by_its_idempotency_key(xero, xero_paid, pay):
    sale = pay("S-1")
    xero.lose_next_response(match="/Payments")

    post_due_outbox_entries(connection=xero_paid)

    assert entry(sale, Kind.PAYMENT).state == State.POSTED
    assert len(xero.payments()) == 1
    assert xero.calls("PUT", "/api.xro/2.0/Payments") == 2


def test_xero_payment_reply_lost_on_every_retry_is_looked_up_before_sending_again(xero, xero_paid, pay):
    sale = pay("S-1")
    xero.lose_next_response(times=4, match="/Payments")
    now = timezone.now()
    post_due_outbox_entries(connection=xero_paid, now=now)
    assert (entry(sale, Kind.PAYMENT).state, entry(sale, Kind.PAYMENT).outcome_unknown) == (
        State.RETRYING,
        True,
    )
    sent = xero.calls("PUT", "/api.xro/2.0/Payments")

    post_due_outbox_entries(connection=xero_paid, now=now + timedelta(hours=1))

    payment = entry(sale, Kind.PAYMENT)
    assert payment.state == State.POSTED
    assert payment.attempt_log.order_by("pk").last().outcome == OutboxAttempt.Outcome.FOUND_EXISTING
    assert len(xero.payments()) == 1
    assert xero.calls("PUT", "/api.xro/2.0/Payments") == sent


def test_sage_paid_sale_records_a_customer_receipt_against_its_invoice(sage, sage_paid, pay):
    sale = pay("S-1", method="card")

    post_due_outbox_entries(connection=sage_paid)

    [invoice] = sage.invoices()
    [payment] = sage.payments()
    assert (payment["type"], payment["document_id"], payment["account_code"]) == (
        "CUSTOMER_RECEIPT",
        invoice["remote_id"],
        "1200",
    )
    assert payment["amount"] == invoice["total"] == sale.total
    assert entry(sale, Kind.PAYMENT).remote_id == payment["remote_id"]


def test_sage_payment_with_unknown_outcome_is_looked_up_before_it_is_sent_again(sage, sage_paid, pay):
    sale = pay("S-1")
    sage.lose_next_response(times=4, match="/contact_payments")
    now = timezone.now()
    post_due_outbox_entries(connection=sage_paid, now=now)
    assert entry(sale, Kind.PAYMENT).outcome_unknown
    sent = sage.calls("POST", "/v3.1/contact_payments")

    post_due_outbox_entries(connection=sage_paid, now=now + timedelta(hours=1))

    payment = entry(sale, Kind.PAYMENT)
    assert payment.state == State.POSTED
    assert payment.attempt_log.order_by("pk").last().outcome == OutboxAttempt.Outcome.FOUND_EXISTING
    assert len(sage.payments()) == 1
    assert sage.calls("POST", "/v3.1/contact_payments") == sent
    assert sage.calls("GET", "/v3.1/contact_payments") == 1


def test_sage_payment_never_received_is_sent_after_the_lookup(sage, sage_paid, pay):
    sale = pay("S-1")
    sage.fail_next(503, times=4, match="/contact_payments")
    now = timezone.now()
    post_due_outbox_entries(connection=sage_paid, now=now)

    post_due_outbox_entries(connection=sage_paid, now=now + timedelta(hours=1))

    assert entry(sale, Kind.PAYMENT).state == State.POSTED
    assert len(sage.payments()) == 1


def test_cancelling_an_invoice_cancels_its_waiting_payment(xero_paid, pay):
    sale = pay("S-1")

    cancel_outbox_entry(entry(sale, Kind.INVOICE))

    assert entry(sale, Kind.PAYMENT).state == State.CANCELLED
