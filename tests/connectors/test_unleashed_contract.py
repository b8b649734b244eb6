"""Unleashed's connector against the shared contract, over HTTP to the Unleashed emulator."""

from tests.connectors.contract import ConnectorContract


class TestUnleashedContract(ConnectorContract):
    provider = "unleashed"

    def revoke_access(self, emulator) -> None:
        # No OAuth grant to revoke: the owner regenerates the API key, and our signatures fail.
        emulator.revoke_credentials()
