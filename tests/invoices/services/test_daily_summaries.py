"""Daily-summary posting: a connection's sales of one business day (in the tenant's time zone)
post after the day closes as one invoice to the cash-sale contact, one line per tax rate and
account, with one payment per payment method; a late sale opens a supplementary summary."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from invoices.models import OutboxAttempt, OutboxEntry, SummarySale
from invoices.services.outbox import NewSaleLine, record_sale
from invoices.services.posting import claim_due_entries, post_due_outbox_entries
from syncing.models import Connection
from tests import factories

State = OutboxEntry.State
Kind = OutboxEntry.Kind
AUCKLAND = ZoneInfo("Pacific/Auckland")
# 20 November 2026 in Auckland (UTC+13) closes at 11:00 UTC; the grace period is 30 minutes here.
DAY = datetime(2026, 11, 20, 10, 0, tzinfo=AUCKLAND)
DUE = datetime(2026, 11, 20, 11, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def auckland(tenant, settings):
    settings.DAILY_SUMMARY_GRACE_MINUTES = 30
    tenant.timezone = "Pacific/Auckland"
    tenant.save()


@pytest.fixture
def products(tenant):
    return {
        code: factories.ProductFactory(tenant=tenant, sku=f"SKU-{code}", tax_code=code)
        for code in ("OUTPUT2", "EXEMPTOUTPUT", "BOGUS")
    }


@pytest.fixture
def summarised(xero, xero_connection):
    xero_connection.posting_mode = Connection.PostingMode.DAILY_SUMMARY
    xero_connection.cash_sale_contact_id = xero.add_customer(name="Counter sales")
    xero_connection.payment_accounts = {"card": "090", "cash": "091"}
    xero_connection.save()
    return xero_connection


@pytest.fixture
def ring(tenant, products):
    """`ring("S-1", "12.50", tax="OUTPUT2", at=DAY, method="card")` records a sale of one item;
    a method makes it a paid sale."""

    def make(number, price, *, tax="OUTPUT2", at=DAY, method=""):
        line = NewSaleLine(product=products[tax], quantity=Decimal(1), unit_price=Decimal(price))
        return record_sale(
            tenant=tenant, number=number, lines=[line], sold_at=at, payment_method=method, paid=bool(method)
        )

    return make


def summaries():
    return list(OutboxEntry.objects.filter(kind=Kind.DAILY_SUMMARY).order_by("business_day", "sequence"))


def lines_of(xero, invoice):
    raw = xero.org.invoices[invoice["remote_id"]]
    return {
        (line["TaxType"], line["AccountCode"]): Decimal(str(line["LineAmount"])) for line in raw["LineItems"]
    }


def test_sales_of_one_business_day_join_one_summary(summarised, ring):
    for n, price in enumerate(["10.00", "12.50", "5.00"]):
        ring(f"S-{n}", price)

    [summary] = summaries()

    assert summary.business_day.isoformat() == "2026-11-20"
    assert summary.summary_sales.count() == 3
    assert not OutboxEntry.objects.filter(kind=Kind.INVOICE).exists()


def test_business_day_is_the_day_in_the_tenants_time_zone(summarised, ring):
    # 12:30 UTC on the 20th is 01:30 on the 21st in Auckland.
    ring("S-1", "10.00", at=datetime(2026, 11, 20, 12, 30, tzinfo=UTC))

    assert [s.business_day.isoformat() for s in summaries()] == ["2026-11-21"]


def test_summary_waits_until_its_day_has_closed_and_the_grace_period_passed(xero, summarised, ring):
    ring("S-1", "10.00")

    early = post_due_outbox_entries(connection=summarised, now=DUE - timedelta(minutes=1))
    assert (early.claimed, xero.invoices()) == (0, [])

    post_due_outbox_entries(connection=summarised, now=DUE)
    assert [i["reference"] for i in xero.invoices()] == ["Daily sales 2026-11-20"]


def test_summary_posts_one_invoice_with_one_line_per_tax_rate_and_account(xero, summarised, ring):
    ring("S-1", "10.00", tax="OUTPUT2")
    ring("S-2", "12.50", tax="OUTPUT2")
    ring("S-3", "5.00", tax="EXEMPTOUTPUT")

    post_due_outbox_entries(connection=summarised, now=DUE)

    [invoice] = xero.invoices()
    assert invoice["contact_id"] == summarised.cash_sale_contact_id
    assert invoice["total"] == Decimal("27.50")
    assert lines_of(xero, invoice) == {
        ("OUTPUT2", "200"): Decimal("22.50"),
        ("EXEMPTOUTPUT", "200"): Decimal("5.00"),
    }
    assert summaries()[0].remote_id == invoice["remote_id"]


def test_summary_payments_are_recorded_per_payment_method(xero, summarised, ring):
    ring("S-1", "10.00", method="card")
    ring("S-2", "12.50", method="card")
    ring("S-3", "5.00", method="cash")
    ring("S-4", "3.00")  # on account: not paid yet

    post_due_outbox_entries(connection=summarised, now=DUE)

    [invoice] = xero.invoices()
    paid = {(p["account_code"], p["amount"]) for p in xero.payments()}
    assert paid == {("090", Decimal("22.50")), ("091", Decimal("5.00"))}
    assert {p["document_id"] for p in xero.payments()} == {invoice["remote_id"]}
    assert {p["reference"] for p in xero.payments()} == {
        "Daily sales 2026-11-20 card",
        "Daily sales 2026-11-20 cash",
    }


def test_late_sale_opens_a_supplementary_summary_and_nothing_is_counted_twice(xero, summarised, ring):
    ring("S-1", "10.00")
    post_due_outbox_entries(connection=summarised, now=DUE)

    late = ring("S-2", "4.00")
    post_due_outbox_entries(connection=summarised, now=datetime.now(UTC) + timedelta(hours=2))

    first, second = summaries()
    assert (first.sequence, second.sequence, second.business_day) == (1, 2, first.business_day)
    assert list(second.summary_sales.values_list("sale", flat=True)) == [late.pk]
    totals = {i["reference"]: i["total"] for i in xero.invoices()}
    assert totals == {
        "Daily sales 2026-11-20": Decimal("10.00"),
        "Daily sales 2026-11-20 (2)": Decimal("4.00"),
    }
    assert SummarySale.objects.count() == 2


def test_a_failed_day_does_not_block_the_next(xero, summarised, ring):
    ring("S-1", "10.00", tax="BOGUS")
    ring("S-2", "7.00", at=DAY + timedelta(days=1))

    post_due_outbox_entries(connection=summarised, now=DUE + timedelta(days=1))

    failed, next_day = summaries()
    assert failed.state == State.NEEDS_ATTENTION
    assert "BOGUS" in failed.last_error
    assert next_day.state == State.POSTED
    assert [i["reference"] for i in xero.invoices()] == ["Daily sales 2026-11-21"]


def test_summary_without_a_sales_account_needs_attention_in_one_sentence(summarised, ring):
    summarised.sales_account_code = ""
    summarised.save()
    ring("S-1", "10.00")

    post_due_outbox_entries(connection=summarised, now=DUE)

    [summary] = summaries()
    assert summary.state == State.NEEDS_ATTENTION
    assert summary.last_error == (
        "Daily summaries need a sales account. Choose the Xero sales account in the connection settings."
    )


def test_refund_on_a_summary_connection_posts_its_own_credit_note(xero, summarised, ring, tenant, products):
    sale = ring("S-1", "10.00")
    line = NewSaleLine(product=products["OUTPUT2"], quantity=Decimal(1), unit_price=Decimal("10.00"))
    record_sale(tenant=tenant, number="R-1", lines=[line], sold_at=DAY, refund_of=sale)

    post_due_outbox_entries(connection=summarised, now=datetime.now(UTC) + timedelta(minutes=1))

    assert [n["reference"] for n in xero.credit_notes()] == ["R-1"]
    assert [i["total"] for i in xero.invoices()] == [Decimal("10.00")]


def test_sage_summary_posts_one_sales_invoice_with_its_tax_per_line(sage, sage_connection, tenant):
    sage_connection.posting_mode = Connection.PostingMode.DAILY_SUMMARY
    sage_connection.cash_sale_contact_id = sage.add_customer(name="Counter sales")
    sage_connection.save()
    for n, (code, price) in enumerate(
        [("GB_STANDARD", "12.00"), ("GB_STANDARD", "6.00"), ("GB_ZERO", "4.00")]
    ):
        product = factories.ProductFactory(tenant=tenant, sku=f"P-{n}", tax_code=code)
        line = NewSaleLine(product=product, quantity=Decimal(1), unit_price=Decimal(price))
        record_sale(tenant=tenant, number=f"S-{n}", lines=[line], sold_at=DAY)

    post_due_outbox_entries(connection=sage_connection, now=DUE)

    [invoice] = sage.invoices()
    raw = sage.lead.invoices[invoice["remote_id"]]
    assert invoice["reference"] == "Daily sales 2026-11-20"
    assert invoice["total"] == Decimal("22.00")
    assert sorted((line["tax_rate"]["id"], line["tax_amount"]) for line in raw["invoice_lines"]) == [
        ("GB_STANDARD", "3.00"),
        ("GB_ZERO", "0.00"),
    ]


def test_sale_arriving_while_its_summary_is_posting_opens_a_supplementary_summary(summarised, ring):
    ring("S-1", "10.00")
    [posting] = claim_due_entries(connection=summarised, now=DUE, limit=10)

    late = ring("S-2", "4.00")

    posting.refresh_from_db()
    first, second = summaries()
    assert first.pk == posting.pk
    assert list(first.summary_sales.values_list("sale__number", flat=True)) == ["S-1"]
    assert list(second.summary_sales.values_list("sale", flat=True)) == [late.pk]
    assert (second.sequence, second.state) == (2, State.PENDING)


def test_summary_whose_reply_was_lost_is_found_by_its_reference_not_posted_twice(xero, summarised, ring):
    ring("S-1", "10.00")
    xero.lose_next_response(times=4, match="/Invoices")
    post_due_outbox_entries(connection=summarised, now=DUE)
    assert summaries()[0].outcome_unknown

    post_due_outbox_entries(connection=summarised, now=DUE + timedelta(hours=1))

    [summary] = summaries()
    assert summary.state == State.POSTED
    assert summary.attempt_log.order_by("pk").last().outcome == OutboxAttempt.Outcome.FOUND_EXISTING
    assert [i["reference"] for i in xero.invoices()] == ["Daily sales 2026-11-20"]


def test_refused_summary_email_names_the_day(summarised, ring, mailoutbox):
    ring("S-1", "10.00", tax="BOGUS")

    post_due_outbox_entries(connection=summarised, now=DUE)

    [email] = mailoutbox
    assert email.subject == "Daily sales 2026-11-20 needs your attention in Xero"
    assert "Xero did not accept daily sales 2026-11-20 from" in email.body
