"""A refund posts as a credit note where the provider has them, and a paid refund records the
money paid back against that credit note, with the outbox's exactly-once guarantees."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from invoices.models import OutboxAttempt, OutboxEntry
from invoices.services.outbox import NewSaleLine, record_sale
from invoices.services.posting import post_due_outbox_entries
from tests import factories

State = OutboxEntry.State
Kind = OutboxEntry.Kind


@pytest.fixture
def refund(tenant, product):
    """`refund("R-1", of=sale, paid=True)` records a refund of one mug at 10.00."""

    def make(number, *, of, paid=False, method="card"):
        line = NewSaleLine(product=product, quantity=Decimal(1), unit_price=Decimal("10.00"))
        return record_sale(
            tenant=tenant, number=number, lines=[line], refund_of=of, paid=paid, payment_method=method
        )

    return make


@pytest.fixture
def xero_refunds(xero, xero_connection, mug_on_xero):
    xero_connection.payment_accounts = {"card": "090"}
    xero_connection.save()
    return xero_connection


def test_refund_posts_as_a_credit_note_not_an_invoice(xero, xero_refunds, sell, refund, product):
    sale = sell("S-1", product)
    post_due_outbox_entries(connection=xero_refunds)
    returned = refund("R-1", of=sale)

    post_due_outbox_entries(connection=xero_refunds)

    [note] = xero.credit_notes()
    entry = returned.outbox_entries.get()
    assert (entry.kind, entry.state, entry.remote_id) == (Kind.CREDIT_NOTE, State.POSTED, note["remote_id"])
    assert (note["reference"], note["total"]) == ("R-1", Decimal("10.00"))
    assert [i["reference"] for i in xero.invoices()] == ["S-1"]
    assert xero.org.credit_notes[note["remote_id"]]["Type"] == "ACCRECCREDIT"


def test_paid_refund_pays_the_money_back_against_its_credit_note(xero, xero_refunds, sell, refund, product):
    sale = sell("S-1", product)
    returned = refund("R-1", of=sale, paid=True)

    post_due_outbox_entries(connection=xero_refunds)

    [note] = xero.credit_notes()
    [payment] = xero.payments()
    assert (payment["type"], payment["document_id"], payment["account_code"]) == (
        "ARCREDITPAYMENT",
        note["remote_id"],
        "090",
    )
    assert returned.outbox_entries.get(kind=Kind.PAYMENT).state == State.POSTED


def test_credit_note_reply_lost_on_every_retry_is_found_by_reference(
    xero, xero_refunds, sell, refund, product
):
    returned = refund("R-1", of=sell("S-1", product))
    xero.lose_next_response(times=4, match="/CreditNotes")
    now = timezone.now()
    post_due_outbox_entries(connection=xero_refunds, now=now)

    post_due_outbox_entries(connection=xero_refunds, now=now + timedelta(hours=1))

    entry = returned.outbox_entries.get(kind=Kind.CREDIT_NOTE)
    assert entry.state == State.POSTED
    assert entry.attempt_log.order_by("pk").last().outcome == OutboxAttempt.Outcome.FOUND_EXISTING
    assert len(xero.credit_notes()) == 1


def test_sage_refund_posts_a_sales_credit_note_and_a_customer_refund(
    sage, sage_connection, refund, sell, product
):
    remote_id = sage.add_product(code=product.sku, name=product.name, price=product.sale_price)
    factories.ProductLinkFactory(connection=sage_connection, product=product, remote_id=remote_id)
    sage_connection.cash_sale_contact_id = sage.add_customer(name="Counter sales")
    sage_connection.payment_accounts = {"card": "1200"}
    sage_connection.save()
    returned = refund("R-1", of=sell("S-1", product), paid=True)

    post_due_outbox_entries(connection=sage_connection)

    [note] = sage.credit_notes()
    [payment] = sage.payments()
    assert (note["reference"], note["total"]) == ("R-1", Decimal("10.00"))
    assert (payment["type"], payment["document_id"]) == ("CUSTOMER_REFUND", note["remote_id"])
    assert {e.kind: e.state for e in returned.outbox_entries.all()} == {
        Kind.CREDIT_NOTE: State.POSTED,
        Kind.PAYMENT: State.POSTED,
    }


def test_refund_is_not_queued_for_a_provider_without_credit_notes(
    start_emulator, connect, sell, refund, product
):
    connection = connect(start_emulator("vend"), "vend")
    sale = sell("S-1", product)

    returned = refund("R-1", of=sale, paid=True)

    assert sale.outbox_entries.filter(connection=connection).count() == 1
    assert not returned.outbox_entries.exists()


def test_refund_of_another_tenants_sale_is_refused(tenant, product):
    other = factories.SaleFactory(number="S-9")
    line = NewSaleLine(product=product, quantity=Decimal(1), unit_price=Decimal("1.00"))

    with pytest.raises(ValueError, match="belongs to another tenant"):
        record_sale(tenant=tenant, number="R-1", lines=[line], refund_of=other)
