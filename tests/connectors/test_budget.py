from datetime import UTC, datetime

import pytest

from connectors import budget
from connectors.base import Priority, Window
from connectors.errors import BudgetExhausted
from syncing.models import BudgetWindow
from tests import factories
from tests.connectors.tiny_provider import FakeClock

pytestmark = pytest.mark.django_db

# 12:00:30 on the last day of February: the minute resets in 30 s, the month at midnight.
NOON = datetime(2025, 2, 28, 12, 0, 30, tzinfo=UTC)


def spend(connection, clock, priority=Priority.POLL):
    budget.spend(connection, priority, sleep=clock.sleep, now=clock.now)


def test_limits_combine_provider_windows_with_the_plans_month():
    connection = factories.ConnectionFactory(provider="xero", tenant__monthly_call_allowance=3000)
    assert budget.limits_for(connection) == {Window.MINUTE: 60, Window.DAY: 5000, Window.MONTH: 3000}


def test_connection_cap_below_the_plan_wins():
    connection = factories.ConnectionFactory(monthly_call_limit=100, tenant__monthly_call_allowance=3000)
    assert budget.limits_for(connection)[Window.MONTH] == 100


def test_lightspeed_five_minute_limit_scales_with_registers():
    connection = factories.ConnectionFactory(provider="vend", registers=3)
    assert budget.limits_for(connection)[Window.FIVE_MINUTES] == 950


def test_windows_are_aligned_to_utc_boundaries():
    moment = datetime(2025, 2, 28, 12, 7, 30, tzinfo=UTC)
    assert budget.window_start(Window.FIVE_MINUTES, moment) == datetime(2025, 2, 28, 12, 5, tzinfo=UTC)
    assert budget.window_end(Window.MONTH, budget.window_start(Window.MONTH, moment)) == datetime(
        2025, 3, 1, tzinfo=UTC
    )


def test_each_call_is_counted_in_every_window():
    connection = factories.ConnectionFactory(provider="xero")
    clock = FakeClock(NOON)
    for _ in range(3):
        spend(connection, clock)
    used = dict(BudgetWindow.objects.filter(connection=connection).values_list("kind", "used"))
    assert used == {"minute": 3, "day": 3, "month": 3}


def test_full_minute_waits_for_the_next_minute_and_then_spends():
    connection = factories.ConnectionFactory(provider="xero")
    clock = FakeClock(NOON)
    for _ in range(60):
        spend(connection, clock, Priority.INVOICE)
    assert clock.slept == []
    spend(connection, clock, Priority.INVOICE)
    assert clock.slept == [pytest.approx(30.01)]
    assert (
        BudgetWindow.objects.get(
            connection=connection, kind="minute", starts_at=clock.now().replace(second=0, microsecond=0)
        ).used
        == 1
    )


def test_full_day_raises_with_the_time_it_resets():
    connection = factories.ConnectionFactory(provider="xero")
    BudgetWindow.objects.create(
        connection=connection, kind="day", starts_at=datetime(2025, 2, 28, tzinfo=UTC), limit=5000, used=5000
    )
    with pytest.raises(BudgetExhausted) as raised:
        spend(connection, FakeClock(NOON), Priority.INVOICE)
    assert raised.value.resets_at == datetime(2025, 3, 1, tzinfo=UTC)
    assert raised.value.window == "day"


def test_refused_call_gives_back_what_earlier_windows_took():
    connection = factories.ConnectionFactory(provider="xero")
    BudgetWindow.objects.create(
        connection=connection, kind="day", starts_at=datetime(2025, 2, 28, tzinfo=UTC), limit=5000, used=5000
    )
    with pytest.raises(BudgetExhausted):
        spend(connection, FakeClock(NOON))
    assert BudgetWindow.objects.get(connection=connection, kind="month").used == 0


def test_month_cap_raises_instead_of_waiting():
    connection = factories.ConnectionFactory(monthly_call_limit=2)
    clock = FakeClock(NOON)
    spend(connection, clock, Priority.INVOICE)
    spend(connection, clock, Priority.INVOICE)
    with pytest.raises(BudgetExhausted) as raised:
        spend(connection, clock, Priority.INVOICE)
    assert raised.value.window == "month"
    assert clock.slept == []


def test_sweeps_and_polls_leave_the_last_slice_for_invoices():
    connection = factories.ConnectionFactory(monthly_call_limit=100)
    clock = FakeClock(NOON)

    def spend_until_refused(priority):
        count = 0
        while True:
            try:
                spend(connection, clock, priority)
            except BudgetExhausted:
                return count
            count += 1

    assert spend_until_refused(Priority.SWEEP) == 85
    assert spend_until_refused(Priority.POLL) == 5
    assert spend_until_refused(Priority.INVOICE) == 10


def test_provider_headers_lower_what_is_left():
    connection = factories.ConnectionFactory(provider="xero")
    clock = FakeClock(NOON)
    spend(connection, clock)
    budget.observe(connection, {Window.MINUTE: 10}, now=clock.now)
    assert budget.remaining(connection, now=clock.now)[Window.MINUTE] == 10


def test_provider_headers_never_raise_what_is_left():
    connection = factories.ConnectionFactory(provider="xero")
    clock = FakeClock(NOON)
    for _ in range(20):
        spend(connection, clock)
    budget.observe(connection, {Window.MINUTE: 59}, now=clock.now)
    assert budget.remaining(connection, now=clock.now)[Window.MINUTE] == 40


def test_exhausted_short_window_reported_by_the_provider_makes_the_next_call_wait():
    connection = factories.ConnectionFactory(provider="xero")
    clock = FakeClock(NOON)
    budget.observe(connection, {Window.MINUTE: 0}, now=clock.now)
    spend(connection, clock, Priority.INVOICE)
    assert clock.slept == [pytest.approx(30.01)]
