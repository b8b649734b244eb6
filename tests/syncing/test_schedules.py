"""Periodic jobs are written once by name; sync settings are clamped to what the product promises."""

from datetime import timedelta

from django.utils import timezone
from django_q.models import Schedule

from syncing.schedules import ensure_schedules, update_sync_settings
from tests import factories


def test_ensure_schedules_is_idempotent_and_repairs_a_changed_schedule(db):
    ensure_schedules()
    Schedule.objects.filter(name="dispatch-due-syncs").update(minutes=60)
    ensure_schedules()

    schedules = dict(Schedule.objects.values_list("name", "minutes"))
    assert schedules == {
        "dispatch-due-syncs": 1,
        "dispatch-due-outbox": 1,
        "mark-stalled-runs": 5,
        "queue-due-webhook-deliveries": 1,
        "send-outbox-digests": 24 * 60,
    }


def test_poll_interval_longer_than_two_hours_is_clamped(tenant):
    connection = factories.ConnectionFactory(tenant=tenant)
    update_sync_settings(connection, poll_interval=timedelta(hours=5), sweep_size=10_000)
    connection.refresh_from_db()
    assert connection.poll_interval == timedelta(hours=2)
    assert connection.sweep_size == 1000


def test_shorter_poll_interval_brings_the_next_poll_forward(tenant):
    far = timezone.now() + timedelta(hours=2)
    connection = factories.ConnectionFactory(tenant=tenant, next_poll_at=far)
    update_sync_settings(connection, poll_interval=timedelta(minutes=10))
    connection.refresh_from_db()
    assert connection.next_poll_at < timezone.now() + timedelta(minutes=11)
