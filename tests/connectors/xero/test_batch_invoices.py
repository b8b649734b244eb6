"""Posting sales invoices to Xero in batches: per-invoice results and idempotent retries."""

import uuid
from datetime import date
from decimal import Decimal

import pytest

from connectors.records import InvoiceDraft, InvoiceLineDraft


@pytest.fixture
def buyer(xero):
    xero.seed(products=3)
    return xero.add_customer(name="Buyer Ltd", email="buyer@example.com", account_number="B-1")


def drafts(count, customer_id, *, bad=(), start=1):
    made = []
    for n in range(start, start + count):
        line = InvoiceLineDraft(
            description=f"Sale line {n}",
            quantity=Decimal("1"),
            unit_price=Decimal("11.50"),
            product_code="SKU-00001",
            account_code="999" if n in bad else "",
        )
        made.append(
            InvoiceDraft(
                reference=f"SALE-{n:04d}",
                idempotency_key=str(uuid.uuid4()),
                customer_remote_id=customer_id,
                issued_on=date(2026, 11, 2),
                lines=(line,),
            )
        )
    return made


def test_120_invoices_take_3_calls_and_one_bad_invoice_fails_alone(xero, connector, buyer):
    results = connector.post_invoices(drafts(120, buyer, bad={77}))
    assert xero.calls("PUT", "/Invoices") == 3
    assert [r.reference for r in results] == [f"SALE-{n:04d}" for n in range(1, 121)]
    refused = [r for r in results if not r.ok]
    assert [r.reference for r in refused] == ["SALE-0077"]
    assert refused[0].errors == ("Account code '999' is not a valid code for this document.",)
    assert len(xero.invoices()) == 119


def test_posted_invoice_totals_follow_the_inclusive_line_amounts(xero, connector, buyer):
    [result] = connector.post_invoices(drafts(1, buyer))
    assert result.invoice.total == Decimal("11.50")
    assert result.invoice.number == "INV-0001"


def test_unknown_contact_is_refused_with_xeros_message(xero, connector, buyer):
    [result] = connector.post_invoices(drafts(1, str(uuid.uuid4())))
    assert not result.ok
    assert "ContactID could not be found" in result.errors[0]
    assert xero.invoices() == []


def test_retry_after_a_lost_response_returns_the_same_invoice_not_a_duplicate(xero, connector, buyer):
    xero.lose_next_response(match="/Invoices")
    [result] = connector.post_invoices(drafts(1, buyer))
    assert result.ok
    assert xero.faults_injected["lose_response"] == 1
    assert xero.calls("PUT", "/Invoices") == 2
    assert [i["remote_id"] for i in xero.invoices()] == [result.invoice.remote_id]


def test_same_batch_posted_again_within_six_minutes_is_answered_from_the_first_post(
    xero, connector, buyer, clock
):
    batch = drafts(2, buyer)
    first = connector.post_invoices(batch)
    clock.advance(5 * 60)
    again = connector.post_invoices(batch)
    assert [r.invoice.remote_id for r in again] == [r.invoice.remote_id for r in first]
    assert len(xero.invoices()) == 2


def test_idempotency_key_expires_after_six_minutes_so_a_late_repost_duplicates(xero, connector, buyer, clock):
    batch = drafts(1, buyer)
    connector.post_invoices(batch)
    clock.advance(6 * 60 + 1)
    connector.post_invoices(batch)
    assert [i["reference"] for i in xero.invoices()] == ["SALE-0001", "SALE-0001"]


def test_lookup_by_reference_finds_the_invoice_a_late_retry_must_not_repost(xero, connector, buyer):
    [result] = connector.post_invoices(drafts(1, buyer, start=42))
    found = connector.find_invoice_by_reference("SALE-0042")
    assert found.remote_id == result.invoice.remote_id
    assert connector.find_invoice_by_reference("SALE-004") is None
