"""Xero's connector against the shared contract, over HTTP to the Xero emulator."""

from tests.connectors.contract import ConnectorContract


class TestXeroContract(ConnectorContract):
    provider = "xero"
