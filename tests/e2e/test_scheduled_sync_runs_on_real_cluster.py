"""A real django-q2 cluster (ORM broker, separate worker processes) runs the scheduled sync."""

import time

import pytest
from django import db
from django_q.brokers import get_broker
from django_q.cluster import Cluster
from django_q.models import Schedule, Success
from django_q.scheduler import scheduler

from syncing.models import Product, SyncRun
from syncing.schedules import ensure_schedules


def wait_until(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


@pytest.mark.django_db(transaction=True)
def test_scheduled_dispatch_brings_products_from_the_emulator(start_emulator, connect):
    emulator = start_emulator("xero")
    emulator.seed(products=4)
    connection = connect(emulator, "xero")
    ensure_schedules()
    broker = get_broker()
    # What the cluster's sentinel does every 30 s: queue the schedules that are due.
    scheduler(broker=broker)

    # The cluster forks; a child closing an inherited PostgreSQL socket would close ours too.
    db.connections.close_all()
    cluster = Cluster(broker)
    cluster.start()
    try:
        arrived = wait_until(lambda: Product.objects.filter(tenant=connection.tenant).count() == 4)
        finished = wait_until(lambda: SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).count() >= 2)
    finally:
        cluster.stop()

    assert arrived and finished
    assert {p["code"] for p in emulator.products()} == set(Product.objects.values_list("sku", flat=True))
    assert Success.objects.filter(func="syncing.tasks.dispatch_due_syncs").exists()
    assert Schedule.objects.get(name="dispatch-due-syncs").next_run is not None
    connection.refresh_from_db()
    assert connection.next_poll_at is not None
