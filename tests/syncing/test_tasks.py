"""The dispatcher queues each due connection once and moves its next times forward."""

from datetime import timedelta

from django.utils import timezone
from django_q.models import OrmQ

from syncing.tasks import dispatch_due_syncs
from tests import factories


def queued_funcs():
    return sorted(task.func() for task in OrmQ.objects.all())


def test_due_connection_gets_product_stock_and_customer_pulls_and_a_sweep(tenant):
    connection = factories.ConnectionFactory(tenant=tenant, poll_interval=timedelta(minutes=30))

    assert dispatch_due_syncs() == {"products": 1, "stock": 1, "customers": 1, "sweep": 1}
    connection.refresh_from_db()
    assert timezone.now() + timedelta(minutes=29) < connection.next_poll_at
    assert queued_funcs() == [
        "syncing.tasks.pull_changed_customers_task",
        "syncing.tasks.pull_changed_products_task",
        "syncing.tasks.pull_changed_stock_task",
        "syncing.tasks.sweep_stale_products_task",
    ]


def test_second_dispatch_right_after_queues_nothing(tenant):
    factories.ConnectionFactory(tenant=tenant)
    dispatch_due_syncs()
    assert dispatch_due_syncs() == {"products": 0, "stock": 0, "customers": 0, "sweep": 0}
    assert OrmQ.objects.count() == 4
