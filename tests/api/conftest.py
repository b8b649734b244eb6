"""An API client for Alice's shop and one for Charlie's (the stranger), each with its own key."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from syncing.services.api_keys import create_api_key


def client_for(tenant) -> Client:
    _, plaintext = create_api_key(tenant=tenant, name="tests")
    return Client(headers={"Authorization": f"Bearer {plaintext}"})


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate-limit counters live in the cache, which outlives a test's database."""
    cache.clear()


@pytest.fixture
def api(tenant) -> Client:
    return client_for(tenant)


@pytest.fixture
def strangers_api(charlie) -> Client:
    return client_for(charlie.memberships.get().tenant)


@pytest.fixture
def anonymous() -> Client:
    return Client()
