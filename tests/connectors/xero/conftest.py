"""A Xero emulator on loopback and a connector to it, for the Xero-only tests."""

import pytest

from connectors.http import connector_for
from tests.connectors.contract import ManualClock


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def xero(start_emulator, clock):
    return start_emulator("xero", clock=clock)


@pytest.fixture
def connection(xero, connect):
    return connect(xero, "xero")


@pytest.fixture
def connector(connection):
    return connector_for(connection)
