from datetime import timedelta

from connectors.base import (
    AuthKind,
    Capability,
    Category,
    Limit,
    OAuthEndpoints,
    ProviderSpec,
    Window,
)

# 200 calls a minute per business is the v3.0 published figure; no v3.1 figure is published
# (https://developer.sage.com/accounting/V3.0_docs/making-an-api-request), so we keep it and
# honour 429s. Sage Accounting sends no webhooks.
SAGE = ProviderSpec(
    key="sage",
    name="Sage Business Cloud Accounting",
    category=Category.ACCOUNTING,
    auth=AuthKind.OAUTH2,
    description="Accounting: stock items, contacts and sales invoices.",
    limits=(Limit(200, Window.MINUTE),),
    capabilities=frozenset(
        {
            Capability.PULL_PRODUCTS,
            Capability.PULL_STOCK,
            Capability.PULL_CUSTOMERS,
            Capability.FIND_PRODUCTS_BY_CODE,
            Capability.FIND_PRODUCTS_BY_IDS,
            Capability.CREATE_PRODUCT,
            Capability.FIND_CUSTOMER,
            Capability.CREATE_CUSTOMER,
            Capability.POST_INVOICES,
            Capability.FIND_INVOICE_BY_REFERENCE,
            Capability.POST_CREDIT_NOTES,
            Capability.FIND_CREDIT_NOTE_BY_REFERENCE,
            Capability.POST_PAYMENTS,
            Capability.FIND_PAYMENT,
            Capability.LIST_ACCOUNTS,
            Capability.LIST_TAX_RATES,
        }
    ),
    page_size=200,
    invoice_batch_size=1,
    production_url="https://api.accounting.sage.com/v3.1",
    oauth=OAuthEndpoints(
        authorize_url="https://www.sageone.com/oauth2/auth/central?filter=apiv3.1",
        token_url="https://oauth.accounting.sage.com/token",
        revoke_url="https://oauth.accounting.sage.com/revoke",
        organisations_path="https://api.accounting.sage.com/v3.1/businesses",
        scopes=("full_access",),
    ),
    access_token_lifetime=timedelta(minutes=5),
    brand_colour="#00D639",
    connector="connectors.sage.client.SageConnector",
    emulator="connectors.sage.emulator.SageEmulator",
    package="connectors.sage",
)
