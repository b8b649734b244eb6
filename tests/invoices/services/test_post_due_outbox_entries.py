from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from invoices.models import OutboxAttempt, OutboxEntry
from invoices.services.posting import (
    OutboxEntryLocked,
    cancel_outbox_entry,
    claim_due_entries,
    post_due_outbox_entries,
    retry_outbox_entry,
)
from syncing.models import ProductLink
from tests import factories

State = OutboxEntry.State


def entry_of(sale):
    return sale.outbox_entries.get()


def test_sale_with_a_new_product_posts_once_and_creates_the_product_once(
    xero, xero_connection, sell, product
):
    first = sell("S-1", product)
    second = sell("S-2", product)

    summary = post_due_outbox_entries(connection=xero_connection)

    assert summary.posted == 2
    assert [p["code"] for p in xero.products()] == ["MUG-1"]
    assert sorted(i["reference"] for i in xero.invoices()) == ["S-1", "S-2"]
    assert xero.calls("PUT", "/Items") == 1
    for sale in (first, second):
        entry = entry_of(sale)
        assert entry.state == State.POSTED
        assert entry.remote_id in {i["remote_id"] for i in xero.invoices()}
        assert not entry.outcome_unknown
    assert ProductLink.objects.get(product=product).remote_id == xero.products()[0]["remote_id"]


def test_posted_entries_are_not_posted_again(xero, xero_connection, sell, product):
    sell("S-1", product)
    post_due_outbox_entries(connection=xero_connection)

    summary = post_due_outbox_entries(connection=xero_connection, now=timezone.now() + timedelta(days=1))

    assert summary.claimed == 0
    assert len(xero.invoices()) == 1


def test_cash_sale_goes_to_the_cash_sale_contact(xero, xero_connection, sell, product):
    contact_id = xero.add_customer(name="Counter sales")
    xero_connection.cash_sale_contact_id = contact_id
    xero_connection.save()
    sell("S-1", product)

    post_due_outbox_entries(connection=xero_connection)

    [invoice] = xero.invoices()
    assert invoice["contact_id"] == contact_id


def test_sale_to_a_known_customer_goes_to_the_customers_contact(xero, xero_connection, sell, product, tenant):
    contact_id = xero.add_customer(name="Ann Smith", email="ann@example.com")
    customer = factories.CustomerFactory(tenant=tenant, name="Ann Smith", email="ann@example.com")
    sell("S-1", product, customer=customer)

    post_due_outbox_entries(connection=xero_connection)

    [invoice] = xero.invoices()
    assert invoice["contact_id"] == contact_id


def test_refused_invoice_needs_attention_with_the_providers_message(xero, xero_connection, sell, mug_on_xero):
    xero_connection.sales_account_code = "999"
    xero_connection.save()
    sale = sell("S-1", mug_on_xero)
    now = timezone.now()

    summary = post_due_outbox_entries(connection=xero_connection, now=now)

    entry = entry_of(sale)
    assert summary.needs_attention == 1
    assert entry.state == State.NEEDS_ATTENTION
    assert entry.provider_messages == ["Account code '999' is not a valid code for this document."]
    assert "Account code '999'" in entry.last_error
    assert entry.next_attempt_at == now + timedelta(hours=3)
    assert entry.attempt_log.get().outcome == OutboxAttempt.Outcome.REFUSED
    assert not entry.outcome_unknown
    assert xero.invoices() == []
    [email] = mail.outbox
    assert email.to == ["alice@example.com"]
    assert "S-1" in email.subject
    assert "Account code '999' is not a valid code" in email.body
    assert f"/outbox/{entry.pk}/" in email.body


def test_retrying_a_refused_invoice_does_not_email_again(xero, xero_connection, sell, mug_on_xero):
    xero_connection.sales_account_code = "999"
    xero_connection.save()
    sale = sell("S-1", mug_on_xero)
    now = timezone.now()
    post_due_outbox_entries(connection=xero_connection, now=now)

    summary = post_due_outbox_entries(connection=xero_connection, now=now + timedelta(hours=3))

    assert summary.needs_attention == 1
    assert entry_of(sale).attempts == 2
    assert len(mail.outbox) == 1


def test_refused_invoice_is_not_retried_before_the_attention_interval(
    xero, xero_connection, sell, mug_on_xero
):
    xero_connection.sales_account_code = "999"
    xero_connection.save()
    sell("S-1", mug_on_xero)
    now = timezone.now()
    post_due_outbox_entries(connection=xero_connection, now=now)

    summary = post_due_outbox_entries(connection=xero_connection, now=now + timedelta(hours=2))

    assert summary.claimed == 0


def test_entry_is_given_up_after_the_configured_attempts(xero, xero_connection, sell, mug_on_xero, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    xero_connection.sales_account_code = "999"
    xero_connection.save()
    sale = sell("S-1", mug_on_xero)
    now = timezone.now()

    for round_ in range(4):
        post_due_outbox_entries(connection=xero_connection, now=now + timedelta(hours=3 * round_))

    entry = entry_of(sale)
    assert entry.state == State.GIVEN_UP
    assert entry.attempts == 3
    assert xero.calls("PUT", "/Invoices") == 3
    assert [m.subject for m in mail.outbox] == [
        "Sale S-1 needs your attention in Xero",
        "Sale S-1 could not be posted to Xero",
    ]


def test_batch_of_120_sales_posts_in_3_calls_and_a_bad_invoice_fails_alone(
    xero, xero_connection, sell, mug_on_xero
):
    sales = [sell(f"S-{n:03d}", mug_on_xero, tax_code="BOGUS" if n == 57 else "") for n in range(120)]

    summary = post_due_outbox_entries(connection=xero_connection)

    assert xero.calls("PUT", "/Invoices") == 3
    assert summary.invoice_calls == 3
    assert (summary.posted, summary.needs_attention) == (119, 1)
    assert len(xero.invoices()) == 119
    bad = entry_of(sales[57])
    assert bad.state == State.NEEDS_ATTENTION
    assert "BOGUS" in bad.provider_messages[0]
    assert OutboxEntry.objects.filter(state=State.POSTED).count() == 119


def test_transient_failure_is_retried_after_a_backoff(xero, xero_connection, sell, mug_on_xero):
    sale = sell("S-1", mug_on_xero)
    xero.fail_next(503, times=4, match="/Invoices")
    now = timezone.now()

    post_due_outbox_entries(connection=xero_connection, now=now)

    entry = entry_of(sale)
    assert entry.state == State.RETRYING
    assert entry.next_attempt_at == now + timedelta(minutes=1)
    assert entry.outcome_unknown
    assert mail.outbox == []
    post_due_outbox_entries(connection=xero_connection, now=now + timedelta(minutes=1))
    assert entry_of(sale).state == State.POSTED
    assert len(xero.invoices()) == 1


def test_rate_limited_entries_wait_until_the_provider_allows(xero, xero_connection, sell, mug_on_xero):
    sale = sell("S-1", mug_on_xero)
    xero.rate_limit_next(retry_after=120, match="/Invoices")

    post_due_outbox_entries(connection=xero_connection)

    entry = entry_of(sale)
    assert entry.state == State.RATE_LIMITED
    assert entry.attempts == 0
    assert entry.next_attempt_at > timezone.now() + timedelta(seconds=100)


def test_entry_claimed_by_a_dead_worker_is_claimed_again(xero_connection, sell, product):
    sale = sell("S-1", product)
    now = timezone.now()
    claim_due_entries(connection=xero_connection, now=now, limit=10)

    assert claim_due_entries(connection=xero_connection, now=now + timedelta(minutes=1), limit=10) == []
    [again] = claim_due_entries(connection=xero_connection, now=now + timedelta(hours=1), limit=10)
    assert again.sale == sale


def test_given_up_entry_retried_by_hand_posts(xero, xero_connection, sell, mug_on_xero, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    xero_connection.sales_account_code = "999"
    xero_connection.save()
    sale = sell("S-1", mug_on_xero)
    post_due_outbox_entries(connection=xero_connection)
    xero_connection.sales_account_code = "200"
    xero_connection.save()

    retry_outbox_entry(entry_of(sale))
    post_due_outbox_entries(connection=xero_connection)

    entry = entry_of(sale)
    assert entry.state == State.POSTED
    assert [i["reference"] for i in xero.invoices()] == ["S-1"]


def test_cancelled_entry_is_not_posted(xero, xero_connection, sell, product):
    sale = sell("S-1", product)

    cancel_outbox_entry(entry_of(sale))
    summary = post_due_outbox_entries(connection=xero_connection)

    assert summary.claimed == 0
    assert entry_of(sale).state == State.CANCELLED
    assert xero.invoices() == []


def test_posted_entry_cannot_be_cancelled(xero, xero_connection, sell, product):
    sale = sell("S-1", product)
    post_due_outbox_entries(connection=xero_connection)

    with pytest.raises(OutboxEntryLocked):
        cancel_outbox_entry(entry_of(sale))
    assert entry_of(sale).state == State.POSTED


def test_rate_limit_stops_the_claim_and_hands_back_the_untried_entries(sage, sage_connection, sell, product):
    sales = [sell(f"S-{n}", product) for n in range(3)]
    sage.rate_limit_next(retry_after=120, match="sales_invoices")

    summary = post_due_outbox_entries(connection=sage_connection)

    states = [entry_of(sale).state for sale in sales]
    assert states == [State.RATE_LIMITED, State.PENDING, State.PENDING]
    assert (summary.rate_limited, summary.released) == (1, 2)
    assert not OutboxEntry.objects.filter(claimed_until__isnull=False).exists()
    assert sage.invoices() == []
