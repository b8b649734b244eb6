"""Sage's connector against the shared contract, over HTTP to the Sage emulator."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.errors import RateLimited
from connectors.records import InvoiceLineDraft
from tests.connectors.contract import ConnectorContract


class TestSageContract(ConnectorContract):
    provider = "sage"

    def invoice_line(self, product_remote_id: str, product_code: str) -> InvoiceLineDraft:
        # Sage refuses a line without a ledger account, and wants its tax amount for a taxed rate.
        return InvoiceLineDraft(
            description="Contract widget",
            quantity=Decimal("2"),
            unit_price=Decimal("12.50"),
            product_remote_id=product_remote_id,
            product_code=product_code,
            account_code="4000",
            tax_code="GB_STANDARD",
        )

    def test_long_rate_limit_raises_rate_limited_with_the_providers_time(self, emulator, connector):
        """Sage's 429 carries no Retry-After (https://developer.sage.com/accounting/guides/concepts/response_codes/),
        so the provider's time is the end of its 60-second window."""
        emulator.seed(products=1, customers=1)
        emulator.rate_limit_next(retry_after=3600, times=5)
        with pytest.raises(RateLimited) as raised:
            self.any_read(connector)
        assert raised.value.retry_at > datetime.now(UTC) + timedelta(seconds=50)
        assert raised.value.retry_at <= datetime.now(UTC) + timedelta(seconds=61)
