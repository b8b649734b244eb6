"""Lightspeed X-Series' connector against the shared contract, over HTTP to the Vend emulator."""

from tests.connectors.contract import ConnectorContract


class TestVendContract(ConnectorContract):
    provider = "vend"
