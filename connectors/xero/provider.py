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

# Limits per organisation: https://developer.xero.com/faq/limits (60/min, 5,000/day, 5 at once).
XERO = ProviderSpec(
    key="xero",
    name="Xero",
    category=Category.ACCOUNTING,
    auth=AuthKind.OAUTH2,
    description="Accounting: items, contacts and sales invoices.",
    limits=(Limit(60, Window.MINUTE), Limit(5000, Window.DAY)),
    max_concurrent=5,
    capabilities=frozenset(
        {
            Capability.PULL_PRODUCTS,
            Capability.PULL_STOCK,
            Capability.PULL_CUSTOMERS,
            Capability.FIND_PRODUCTS_BY_CODE,
            Capability.FIND_PRODUCTS_BY_IDS,
            Capability.CREATE_PRODUCT,
            Capability.FIND_CUSTOMER,
            Capability.FIND_CUSTOMERS,
            Capability.CREATE_CUSTOMER,
            Capability.CREATE_CUSTOMERS,
            Capability.POST_INVOICES,
            Capability.FIND_INVOICE_BY_REFERENCE,
            Capability.FIND_INVOICES_BY_REFERENCE,
            Capability.POST_CREDIT_NOTES,
            Capability.FIND_CREDIT_NOTE_BY_REFERENCE,
            Capability.POST_PAYMENTS,
            Capability.FIND_PAYMENT,
            Capability.FIND_PAYMENTS,
            Capability.LIST_ACCOUNTS,
            Capability.LIST_TAX_RATES,
            Capability.WEBHOOKS,
        }
    ),
    page_size=1000,
    invoice_batch_size=50,
    production_url="https://api.xero.com/api.xro/2.0",
    oauth=OAuthEndpoints(
        authorize_url="https://login.xero.com/identity/connect/authorize",
        token_url="https://identity.xero.com/connect/token",
        revoke_url="https://identity.xero.com/connect/revocation",
        organisations_path="https://api.xero.com/connections",
        # Token calls authenticate the app with HTTP Basic:
        # https://developer.xero.com/documentation/guides/oauth2/auth-flow
        client_auth="basic",
        scopes=(
            "offline_access",
            "accounting.settings",
            "accounting.contacts",
            "accounting.transactions",
        ),
    ),
    access_token_lifetime=timedelta(minutes=30),
    brand_colour="#13B5EA",
    connector="connectors.xero.client.XeroConnector",
    emulator="connectors.xero.emulator.XeroEmulator",
    webhooks="connectors.xero.webhooks",
    package="connectors.xero",
)
