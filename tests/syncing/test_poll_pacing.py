"""Polls slow down when the month's plan could not pay for them until it resets at the configured
interval, never beyond the two hours the product promises; sweeps wait in the same proportion.

What polls may spend is what is left to them less what the other jobs (posting, linking, sweeps)
will need until the reset, at the pace they spent so far this month."""

from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import Window
from syncing import selectors
from syncing.models import BudgetWindow, SyncRun
from tests import factories

MARCH_1 = datetime(2026, 3, 1, tzinfo=UTC)
# 10 days (240 hours) into March, 21 days (504 hours) before its plan resets.
MARCH_11 = datetime(2026, 3, 11, tzinfo=UTC)
APRIL_1 = datetime(2026, 4, 1, tzinfo=UTC)
POLLED_KINDS = (SyncRun.Kind.PRODUCTS, SyncRun.Kind.STOCK, SyncRun.Kind.CUSTOMERS)


def poll(connection, at, *, calls=1):
    """One scheduled poll at `at`: a pull of each resource, `calls` calls each."""
    for kind in POLLED_KINDS:
        factories.succeeded_run(
            connection, kind=kind, started_at=at, took=timedelta(seconds=5), api_calls=calls
        )


def polls_from(connection, since, *, count=20, calls=1):
    """`count` polls an hour apart from `since`: 3 x `count` x `calls` calls of the month's count."""
    for n in range(count):
        poll(connection, since + timedelta(hours=n), calls=calls)


def test_a_month_that_can_afford_the_configured_interval_keeps_it(tenant):
    # 900 calls posted in 10 days project to 1,890 more; polls may spend 7,440 - 744 - 960 - 1,890 =
    # 3,846 calls, more than the 3,024 a poll every 30 minutes needs for 504 hours.
    connection = factories.xero_on_plan(tenant, limit=7_440, used=960, month_starts_at=MARCH_1)
    polls_from(connection, MARCH_1)

    assert selectors.effective_poll_interval(connection, now=MARCH_11) == timedelta(minutes=30)


def test_polls_leave_what_posting_has_been_spending_for_the_rest_of_the_month(tenant):
    # 60 of the 1,560 calls were polls: the other 1,500 in 240 hours project to 3,150 in the 504
    # left. Polls may spend 7,440 - 744 (reserve) - 1,560 - 3,150 = 1,986 calls: a poll of 3 calls
    # every 504 h * 3 / 1,986 = 2,741 s.
    connection = factories.xero_on_plan(tenant, limit=7_440, used=1_560, month_starts_at=MARCH_1)
    polls_from(connection, MARCH_1)

    assert selectors.effective_poll_interval(connection, now=MARCH_11) == timedelta(seconds=2_741)


def test_a_connection_linked_during_the_month_projects_from_its_first_run(tenant):
    # Linked on March 6: 900 calls by others in 120 hours project to 3,780 in the 504 left, so
    # polls may spend 6,696 - 960 - 3,780 = 1,956 calls: a poll every 2,783 s (not the 30 minutes
    # a pace counted from March 1 would allow).
    connection = factories.xero_on_plan(tenant, limit=7_440, used=960, month_starts_at=MARCH_1)
    polls_from(connection, datetime(2026, 3, 6, tzinfo=UTC))

    assert selectors.effective_poll_interval(connection, now=MARCH_11) == timedelta(seconds=2_783)


def test_within_a_day_of_its_first_run_polls_take_half_of_what_is_left(tenant):
    # Too little to project from: polls may spend 7,440 - 744 - 2,400 = 4,296 calls, half of them:
    # 2,148 calls for 504 hours at 3 calls a poll is a poll every 504 h * 3 / 2,148 = 2,534 s.
    connection = factories.xero_on_plan(tenant, limit=7_440, used=2_400, month_starts_at=MARCH_1)
    poll(connection, MARCH_11 - timedelta(hours=12))

    assert selectors.effective_poll_interval(connection, now=MARCH_11) == timedelta(seconds=2_534)


def test_polls_that_cost_more_calls_stretch_further(tenant):
    # As when posting spent 1,500 calls, but each poll costs 6: 504 h * 6 / 1,986 = 5,482 s.
    connection = factories.xero_on_plan(tenant, limit=7_440, used=1_560, month_starts_at=MARCH_1)
    polls_from(connection, MARCH_1, count=10, calls=2)

    assert selectors.effective_poll_interval(connection, now=MARCH_11) == timedelta(seconds=5_482)


@pytest.mark.parametrize("used", [6_600, 7_440])
def test_polls_on_a_plan_nearly_or_fully_spent_stretch_to_two_hours_and_no_further(tenant, used):
    connection = factories.xero_on_plan(tenant, limit=7_440, used=used, month_starts_at=MARCH_1)
    polls_from(connection, MARCH_1)

    assert selectors.effective_poll_interval(connection, now=MARCH_11) == timedelta(hours=2)


def test_polls_stretch_evenly_and_do_not_reach_the_reserve_before_the_reset(tenant):
    # A 5,000-call plan (500 kept back from polls) while posting spends 100 calls a day: 3,100 in
    # March leave polls 1,400, a poll of 3 calls every 744 h * 3 / 1,400 = 5,739 s or so.
    connection = factories.xero_on_plan(tenant, limit=5_000, used=0, month_starts_at=MARCH_1)
    window = BudgetWindow.objects.get(connection=connection, kind=Window.MONTH)
    now, polled, intervals = MARCH_1, 0, []
    while now < APRIL_1:
        posted = round(100 * ((now - MARCH_1) / timedelta(days=1)))
        assert polled + posted + 3 <= 4_500, f"polls reached the reserve at {now}"
        # As the dispatcher does: the next poll's time is set, then the poll spends.
        window.used = polled + posted
        window.save(update_fields=["used"])
        interval = selectors.effective_poll_interval(connection, now=now)
        poll(connection, now)
        polled += 3
        # Past the first day (halves, before there is a pace to project) and up to the last poll
        # before the reset.
        if MARCH_1 + timedelta(days=1) <= now and now + interval < APRIL_1:
            intervals.append(interval)
        now += interval

    assert timedelta(minutes=90) < min(intervals)
    assert max(intervals) < min(intervals) * 1.1
    # Even, not timid: polls ran until close to the reserve.
    assert polled + 3_100 > 4_500 - 3 * 3


def test_sweeps_wait_longer_in_the_same_proportion_as_polls(tenant):
    connection = factories.xero_on_plan(tenant, limit=7_440, used=6_600, month_starts_at=MARCH_1)
    connection.sweep_interval = timedelta(hours=4)

    assert selectors.effective_sweep_interval(connection, now=MARCH_11) == timedelta(hours=16)


def test_the_freshness_promise_is_what_the_plan_pays_for_when_that_is_past_two_hours(tenant):
    # As when invoices wait longer: polls may spend 379 calls in the 504 hours left, a poll of 3
    # calls every 504 h * 3 / 379 = 14,362 s on average (at two hours until the reserve, then none),
    # plus the 5 seconds a poll takes.
    connection = factories.xero_on_plan(tenant, limit=5_000, used=1_370, month_starts_at=MARCH_1)
    polls_from(connection, MARCH_1)

    promise = selectors.freshness_promise(connection, now=MARCH_11)

    assert round(promise.total_seconds()) == 14_367


def test_a_plan_fully_spent_promises_nothing_sooner_than_its_reset(tenant):
    connection = factories.xero_on_plan(tenant, limit=7_440, used=7_440, month_starts_at=MARCH_1)

    promise = selectors.freshness_promise(connection, now=MARCH_11)

    assert promise == APRIL_1 - MARCH_11 + selectors.DEFAULT_RUN_TIME


def test_a_plan_that_pays_promises_the_configured_interval(tenant):
    connection = factories.xero_on_plan(tenant, limit=7_440, used=960, month_starts_at=MARCH_1)
    polls_from(connection, MARCH_1)

    promise = selectors.freshness_promise(connection, now=MARCH_11)

    assert promise == timedelta(minutes=30, seconds=5)
