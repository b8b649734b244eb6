"""Sales racing each other, and the worker claiming their day, into a daily summary: each sale is
counted in exactly one summary of the connection, never lost and never twice."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from invoices.models import OutboxEntry, Sale, SummarySale
from invoices.services.outbox import NewSaleLine, record_sale
from invoices.services.posting import claim_due_entries
from syncing.models import Connection
from tests import factories
from tests.concurrency import race

DAY = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
AFTER_THE_DAY = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.fixture
def shop():
    connection = factories.ConnectionFactory(posting_mode=Connection.PostingMode.DAILY_SUMMARY)
    product = factories.ProductFactory(tenant=connection.tenant)
    return connection, product


def sell(connection, product, number):
    line = NewSaleLine(product=product, quantity=Decimal(1), unit_price=Decimal("5.00"))
    return record_sale(
        tenant=connection.tenant, number=number, lines=[line], sold_at=DAY, paid=True, payment_method="card"
    )


def assert_each_sale_counted_once(connection):
    counted = list(SummarySale.objects.filter(connection=connection).values_list("sale_id", flat=True))
    assert sorted(counted) == sorted(Sale.objects.values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_paid_sales_racing_to_open_a_day_share_one_summary_and_its_card_payment(shop):
    connection, product = shop

    _, errors = race(lambda i: sell(connection, product, f"S-{i}"), workers=4)

    assert errors == []
    [summary] = OutboxEntry.objects.filter(kind=OutboxEntry.Kind.DAILY_SUMMARY)
    assert summary.summary_sales.count() == 4
    assert summary.dependents.get().payment_method == "card"
    assert_each_sale_counted_once(connection)


@pytest.mark.django_db(transaction=True)
def test_sales_racing_the_claim_of_their_day_land_before_it_or_in_a_supplementary_summary(shop):
    connection, product = shop
    sell(connection, product, "S-0")

    def work(i):
        if i == 0:
            return claim_due_entries(connection=connection, now=AFTER_THE_DAY, limit=10)
        return sell(connection, product, f"S-{i}")

    _, errors = race(work, workers=4)

    assert errors == []
    assert_each_sale_counted_once(connection)
    # The claim either took the day (a sale still joining had it locked: PostgreSQL skips it
    # until next time) and later sales opened the supplementary summary, or it did not.
    summaries = OutboxEntry.objects.filter(kind=OutboxEntry.Kind.DAILY_SUMMARY).order_by("sequence")
    claimed = [s.state == OutboxEntry.State.IN_FLIGHT for s in summaries]
    assert claimed in ([True], [True, False], [False])
    assert [s.accepting_sales for s in summaries] == [not c for c in claimed]
