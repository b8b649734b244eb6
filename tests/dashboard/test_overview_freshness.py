"""The overview tells, per connection, how soon remote changes show, how the last pulls kept that
promise, and when the month's plan has slowed polls or batched sales."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from syncing.models import Connection
from tests import factories

pytestmark = pytest.mark.django_db

PLAN_SHORT = "Your plan's calls are running short this month"
PAUSE = "Once the calls left for checks are spent, they pause until your plan renews on 1 April."
# Twenty and a half days before the plan renews on 1 April.
MARCH_11_NOON = datetime(2026, 3, 11, 12, tzinfo=UTC)


def pulled(connection, *, minutes_ago):
    """A products pull that started `minutes_ago` and took a minute."""
    factories.succeeded_run(connection, started_at=timezone.now() - timedelta(minutes=minutes_ago))


def overview(client_for, user) -> str:
    return client_for(user).get(reverse("syncing:overview")).content.decode()


def test_the_overview_states_how_soon_remote_changes_show(tenant, alice, client_for):
    factories.xero_on_plan(tenant)

    # A poll every 30 minutes, plus the minute a poll is taken to last until one has run.
    assert "Changes in Xero show here within 31\xa0minutes." in overview(client_for, alice)


def test_the_overview_shows_the_worst_and_latest_lag_of_the_last_pulls(tenant, alice, client_for):
    connection = factories.xero_on_plan(tenant)
    for minutes_ago in (180, 120, 90):
        pulled(connection, minutes_ago=minutes_ago)

    # 180 -> 120 minutes ago: 61 minutes from the first start to the second end; then 31.
    assert "Last pulls: worst 1\xa0hour, 1\xa0minute, latest 31\xa0minutes." in overview(client_for, alice)


def test_the_overview_says_polls_slowed_when_the_plan_is_nearly_spent(tenant, alice, client_for):
    factories.xero_on_plan(tenant, limit=7_440, used=7_000)

    page = overview(client_for, alice)

    assert f"{PLAN_SHORT}, so we check Xero every 2\xa0hours instead of every 30\xa0minutes." in page


def test_the_overview_says_checks_pause_until_the_plan_renews_when_it_cannot_pay_for_two_hourly_polls(
    tenant, alice, client_for, time_machine
):
    time_machine.move_to(MARCH_11_NOON, tick=False)
    factories.xero_on_plan(tenant, limit=10_000, used=9_000)

    page = overview(client_for, alice)

    # Nothing left above the poll reserve: two-hourly polls stop once they reach it.
    assert (
        f"{PLAN_SHORT}, so we check Xero every 2\xa0hours instead of every 30\xa0minutes.</strong> {PAUSE}"
        in page
    )


def test_the_overview_does_not_warn_of_a_pause_when_the_plan_pays_for_slower_polls(
    tenant, alice, client_for, time_machine
):
    time_machine.move_to(MARCH_11_NOON, tick=False)
    # 2,000 calls above the reserve, half of them for polls of 3 calls each: one every 89 minutes.
    factories.xero_on_plan(tenant, limit=10_000, used=7_000)

    page = overview(client_for, alice)

    assert (
        f"{PLAN_SHORT}, so we check Xero every 1\xa0hour, 29\xa0minutes instead of every 30\xa0minutes."
        in page
    )
    assert "they pause until" not in page


def test_the_overview_says_nothing_of_the_plan_when_it_pays(tenant, alice, client_for):
    factories.xero_on_plan(tenant)

    assert PLAN_SHORT not in overview(client_for, alice)


def test_the_overview_says_sales_are_batched_when_the_plan_is_nearly_spent(
    tenant, alice, client_for, settings
):
    settings.OUTBOX_BATCH_WAIT_MINUTES = 30
    factories.xero_on_plan(tenant, limit=7_440, used=7_000)

    # Far short of paying for the polls: the wait stretches to its six-hour bound.
    assert "New sales are sent to Xero in batches up to every 6\xa0hours to save calls." in overview(
        client_for, alice
    )


def test_the_overview_promises_nothing_for_a_connection_that_needs_reconnecting(tenant, alice, client_for):
    connection = factories.xero_on_plan(tenant)
    connection.status = Connection.Status.NEEDS_REAUTH
    connection.save()

    assert "show here within" not in overview(client_for, alice)
