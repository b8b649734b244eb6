"""Shared fixtures: tenants Alice (owner), Bob (member) and Charlie (a stranger's shop), and
emulators started on loopback per test."""

from __future__ import annotations

import pytest
from django.utils.module_loading import import_string

from connectors.emulation import serve
from connectors.registry import get_provider
from syncing.models import Connection
from tests import factories


@pytest.fixture
def alice(db):
    membership = factories.MembershipFactory(
        user__username="alice", tenant__slug="alices-shop", tenant__name="Alice's Shop"
    )
    return membership.user


@pytest.fixture
def tenant(alice):
    return alice.memberships.get().tenant


@pytest.fixture
def bob(tenant):
    return factories.MembershipFactory(user__username="bob", tenant=tenant, role="member").user


@pytest.fixture
def charlie(db):
    return factories.MembershipFactory(
        user__username="charlie", tenant__slug="charlies-shop", tenant__name="Charlie's Shop"
    ).user


@pytest.fixture
def start_emulator():
    """`start_emulator("xero", **options)` -> the emulator app, served on a loopback port until
    the test ends; its origin is `app.public_url`."""
    servers = []

    def start(provider_key: str, **options):
        app = import_string(get_provider(provider_key).emulator)(**options)
        servers.append(serve(app))
        return app

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def xero(start_emulator, settings):
    """The Xero emulator, where the site's Xero sign-in goes."""
    app = start_emulator("xero")
    settings.XERO_BASE_URL = app.public_url
    return app


@pytest.fixture
def unleashed(start_emulator, settings):
    """The Unleashed emulator, where the site's Unleashed calls go."""
    app = start_emulator("unleashed")
    settings.UNLEASHED_BASE_URL = app.public_url
    return app


@pytest.fixture
def connect(tenant):
    """`connect(emulator_app, provider_key)` -> an active Connection to that running emulator,
    holding the credentials the emulator issued (as if the merchant had just consented)."""

    def make(app, provider_key: str, **fields) -> Connection:
        issued = app.issue_credentials()
        return factories.ConnectionFactory(
            tenant=fields.pop("tenant", tenant),
            provider=provider_key,
            base_url=app.public_url,
            credentials=issued["credentials"],
            token_expires_at=issued.get("token_expires_at"),
            remote_org_id=issued["remote_org_id"],
            remote_org_name=issued["remote_org_name"],
            **fields,
        )

    return make


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Factories set real passwords; the production hasher is deliberately slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
