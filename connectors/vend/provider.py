from connectors.base import (
    AuthKind,
    Capability,
    Category,
    Limit,
    OAuthEndpoints,
    ProviderSpec,
    Window,
)

# 300 x registers + 50 calls per 5-minute window per retailer
# (https://x-series-api.lightspeedhq.com/docs/rate_limiting); the budget scales the figure below
# by Connection.registers. The API host carries the retailer's domain prefix.
# Feeds ask for the largest page the 2.0 lists serve ("capped at ten thousand for all endpoints
# except sales", vend/vend-cli): an import of 100,000 products with stock at 2 outlets then costs
# 33 calls, not 303, a tenth of a one-register store's 350 calls per window instead of most of it.
VEND = ProviderSpec(
    key="vend",
    name="Lightspeed Retail X-Series",
    category=Category.INVENTORY,
    auth=AuthKind.OAUTH2,
    description="Point of sale: products, inventory, customers and sales.",
    limits=(Limit(350, Window.FIVE_MINUTES),),
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
            Capability.WEBHOOKS,
        }
    ),
    page_size=10_000,
    invoice_batch_size=1,
    production_url="https://{domain_prefix}.retail.lightspeed.app/api/2.0",
    oauth=OAuthEndpoints(
        authorize_url="https://secure.retail.lightspeed.app/connect",
        token_url="https://{domain_prefix}.retail.lightspeed.app/api/1.0/token",
        scopes=(
            "products:read",
            "products:write",
            "inventory:read",
            "customers:read",
            "customers:write",
            "sales:read",
            "sales:write",
            "webhooks",
        ),
    ),
    brand_colour="#E81C1C",
    connector="connectors.vend.client.VendConnector",
    emulator="connectors.vend.emulator.VendEmulator",
    webhooks="connectors.vend.webhooks",
    package="connectors.vend",
)
