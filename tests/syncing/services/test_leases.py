"""Leases: one holder at a time per (connection, kind), free again when released or expired."""

from datetime import timedelta

import pytest

from syncing.models import SyncLease
from syncing.services.leases import release_lease, renew_lease, take_lease
from tests import factories
from tests.concurrency import race


@pytest.fixture
def connection(tenant):
    return factories.ConnectionFactory(tenant=tenant)


def test_second_holder_is_refused_while_the_lease_is_held(connection):
    assert take_lease(connection, "products", "worker-a")
    assert not take_lease(connection, "products", "worker-b")


def test_leases_of_different_kinds_do_not_block_each_other(connection):
    assert take_lease(connection, "products", "worker-a")
    assert take_lease(connection, "stock", "worker-b")


def test_released_lease_can_be_taken_again(connection):
    take_lease(connection, "products", "worker-a")
    release_lease(connection, "products", "worker-a")
    assert take_lease(connection, "products", "worker-b")


def test_expired_lease_of_a_dead_worker_can_be_taken(connection):
    take_lease(connection, "products", "dead-worker", ttl=timedelta(seconds=-1))
    assert take_lease(connection, "products", "worker-b")
    assert SyncLease.objects.get(connection=connection, kind="products").holder == "worker-b"


def test_only_the_holder_can_renew_or_release(connection):
    take_lease(connection, "products", "worker-a")
    assert not renew_lease(connection, "products", "worker-b")
    release_lease(connection, "products", "worker-b")
    assert not take_lease(connection, "products", "worker-c")
    assert renew_lease(connection, "products", "worker-a")


@pytest.mark.django_db(transaction=True)
def test_exactly_one_of_many_racing_workers_takes_the_lease():
    connection = factories.ConnectionFactory()
    taken, errors = race(
        lambda i: take_lease(connection, "products", f"worker-{i}") and f"worker-{i}", workers=8
    )
    winners = [name for name in taken if name]
    assert errors == []
    assert len(winners) == 1
    assert SyncLease.objects.get(connection=connection, kind="products").holder == winners[0]
