"""When many sales fail at once, the owners get five emails and then one digest a day listing the
rest, each sale once; delivered through a real SMTP server on loopback (aiosmtpd)."""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from invoices.models import OutboxEntry
from invoices.services.notifications import notify_given_up, notify_needs_attention, send_outbox_digests
from invoices.services.posting import post_due_outbox_entries
from syncing.schedules import ensure_schedules
from tests import factories
from tests.invoices.smtp import smtp_server

State = OutboxEntry.State


@pytest.fixture
def smtp(settings):
    settings.SITE_URL = "https://sync.example.com"
    settings.OUTBOX_EMAILS_BEFORE_DIGEST = 5
    with smtp_server(settings) as inbox:
        yield inbox


@pytest.fixture
def refusing_xero(xero_connection):
    """Every invoice is refused: "999" is not an account in the emulator's chart."""
    xero_connection.sales_account_code = "999"
    xero_connection.save()
    return xero_connection


def sell_and_post(sell, product, connection, count):
    for n in range(1, count + 1):
        sell(f"S-{n}", product)
    post_due_outbox_entries(connection=connection)


def emailed_entry(tenant, *, at, state=State.NEEDS_ATTENTION):
    return factories.OutboxEntryFactory(sale__tenant=tenant, state=state, attention_emailed_at=at)


def plain_text(message):
    return message.get_body(("plain",)).get_content()


def test_after_five_emails_in_a_day_further_refusals_wait_for_the_digest(
    smtp, refusing_xero, sell, mug_on_xero
):
    sell_and_post(sell, mug_on_xero, refusing_xero, 8)

    assert smtp.subjects() == [f"Sale S-{n} needs your attention in Xero" for n in range(1, 6)]
    held = OutboxEntry.objects.filter(attention_emailed_at__isnull=True)
    assert sorted(held.values_list("sale__number", flat=True)) == ["S-6", "S-7", "S-8"]


def test_digest_lists_every_held_sale_in_one_email(smtp, refusing_xero, sell, mug_on_xero):
    sell_and_post(sell, mug_on_xero, refusing_xero, 8)

    summary = send_outbox_digests()

    assert summary == {"tenants": 1, "entries": 3}
    recipients, digest = smtp.messages[-1]
    assert recipients == ["alice@example.com"]
    assert digest["Subject"] == "3 sales from Alice's Shop could not be posted"
    text = plain_text(digest)
    for number in ("S-6", "S-7", "S-8"):
        entry = OutboxEntry.objects.get(sale__number=number)
        assert f"Sale {number} to Xero (Demo Company (Emulator))" in text
        assert f"https://sync.example.com/outbox/{entry.pk}/" in text
    assert "Account code '999' is not a valid code for this document." in text
    assert "Sale S-1 " not in text
    html = digest.get_body(("html",)).get_content()
    assert f'href="https://sync.example.com/outbox/{entry.pk}/"' in html


def test_digest_marks_the_sales_emailed_so_no_retry_or_later_digest_emails_them_again(
    smtp, refusing_xero, sell, mug_on_xero
):
    sell_and_post(sell, mug_on_xero, refusing_xero, 8)
    send_outbox_digests()
    sent = len(smtp.messages)

    post_due_outbox_entries(connection=refusing_xero, now=timezone.now() + timedelta(hours=3))
    summary = send_outbox_digests()

    assert OutboxEntry.objects.filter(state=State.NEEDS_ATTENTION, attempts=2).count() == 8
    assert not OutboxEntry.objects.filter(attention_emailed_at__isnull=True).exists()
    assert summary == {"tenants": 0, "entries": 0}
    assert len(smtp.messages) == sent


def test_given_up_sale_held_back_is_listed_as_given_up(smtp, tenant):
    for _ in range(5):
        emailed_entry(tenant, at=timezone.now())
    entry = factories.OutboxEntryFactory(
        sale__tenant=tenant,
        sale__number="S-99",
        state=State.GIVEN_UP,
        attempts=8,
        last_error="Xero could not be reached (Xero answered 503: Service Unavailable).",
    )

    assert not notify_given_up(entry)
    send_outbox_digests()

    [(_, digest)] = smtp.messages
    text = plain_text(digest)
    assert "We have stopped trying to post 1 sale." in text
    assert "Sale S-99 to Xero" in text
    assert "Xero could not be reached" in text
    entry.refresh_from_db()
    assert entry.given_up_emailed_at is not None
    assert entry.attention_emailed_at is None


def test_another_shops_flood_does_not_hold_back_this_shops_email(smtp, tenant, charlie):
    for _ in range(6):
        emailed_entry(charlie.memberships.get().tenant, at=timezone.now())
    entry = factories.OutboxEntryFactory(sale__tenant=tenant, state=State.NEEDS_ATTENTION)

    assert notify_needs_attention(entry)
    assert len(smtp.messages) == 1


def test_emails_older_than_a_day_do_not_hold_back_a_new_one(smtp, tenant):
    for _ in range(5):
        emailed_entry(tenant, at=timezone.now() - timedelta(hours=25))
    entry = factories.OutboxEntryFactory(sale__tenant=tenant, state=State.NEEDS_ATTENTION)

    assert notify_needs_attention(entry)


def test_digest_that_could_not_be_delivered_is_sent_next_time(smtp, settings, tenant):
    for _ in range(5):
        emailed_entry(tenant, at=timezone.now())
    held = factories.OutboxEntryFactory(sale__tenant=tenant, state=State.NEEDS_ATTENTION)
    notify_needs_attention(held)
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 9  # nothing listens: refused at once

    assert send_outbox_digests() == {"tenants": 0, "entries": 0}
    held.refresh_from_db()
    assert held.attention_emailed_at is None

    settings.EMAIL_PORT = port
    assert send_outbox_digests() == {"tenants": 1, "entries": 1}
    assert len(smtp.messages) == 1


def test_digest_skips_sales_that_were_posted_or_cancelled(smtp, tenant):
    for state in (State.POSTED, State.CANCELLED, State.RETRYING):
        factories.OutboxEntryFactory(sale__tenant=tenant, state=state, remote_id="INV-1")

    assert send_outbox_digests() == {"tenants": 0, "entries": 0}
    assert smtp.messages == []


def test_ensure_schedules_runs_the_digest_daily(db):
    ensure_schedules()

    schedule = Schedule.objects.get(name="send-outbox-digests")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "invoices.tasks.send_outbox_digests_task",
        Schedule.MINUTES,
        24 * 60,
    )


def test_digest_command_sends_the_digests_now(smtp, tenant):
    for _ in range(5):
        emailed_entry(tenant, at=timezone.now())
    factories.OutboxEntryFactory(sale__tenant=tenant, state=State.NEEDS_ATTENTION)
    out = StringIO()

    call_command("send_outbox_digests", stdout=out)

    assert out.getvalue().strip() == "1 digest(s) sent, listing 1 sale(s)."
    assert len(smtp.messages) == 1


def test_digest_of_many_sales_lists_fifty_and_links_to_the_rest(smtp, tenant):
    for _ in range(5):
        emailed_entry(tenant, at=timezone.now())
    factories.OutboxEntryFactory.create_batch(
        60, sale__tenant=tenant, state=State.NEEDS_ATTENTION, last_error="Xero refused the invoice."
    )

    send_outbox_digests()

    [(_, digest)] = smtp.messages
    text = plain_text(digest)
    assert text.count("Xero refused the invoice.") == 50
    assert (
        "... and 10 more, all in your outbox: https://sync.example.com/outbox/?state=needs_attention" in text
    )
    assert not OutboxEntry.objects.filter(attention_emailed_at__isnull=True).exists()


def test_digest_names_a_daily_summary_by_its_day(smtp, tenant):
    for _ in range(5):
        emailed_entry(tenant, at=timezone.now())
    factories.OutboxEntryFactory(
        sale=None,
        connection=factories.ConnectionFactory(tenant=tenant, remote_org_name=""),
        kind=OutboxEntry.Kind.DAILY_SUMMARY,
        business_day=date(2026, 11, 23),
        state=State.NEEDS_ATTENTION,
        last_error="Xero refused the invoice: the period is locked.",
    )

    send_outbox_digests()

    [(_, digest)] = smtp.messages
    text = plain_text(digest)
    assert "Daily sales 2026-11-23 to Xero\r\n    Xero refused the invoice: the period is locked." in text
