"""Fixtures for sync tests: a provider emulator with a catalogue, and a connection to it."""

from datetime import UTC, datetime, timedelta

import pytest

PROVIDERS = ["xero", "vend", "sage", "unleashed"]


class StepClock:
    """The emulator's clock: stopped on a whole second, moved on by the test, so each round of
    changes has its own timestamp (Xero and Unleashed cursors have one-second precision)."""

    def __init__(self):
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def clock():
    return StepClock()


@pytest.fixture(params=PROVIDERS)
def provider(request):
    return request.param


@pytest.fixture
def emulator(provider, start_emulator, clock):
    app = start_emulator(provider, clock=clock)
    app.seed(products=3, customers=0, locations=2)
    return app


@pytest.fixture
def connection(emulator, provider, connect):
    return connect(emulator, provider)
