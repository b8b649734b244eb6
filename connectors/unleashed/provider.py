from connectors.base import AuthKind, Capability, Category, ProviderSpec

# Unleashed publishes no per-minute limit, only a monthly quota per subscription that blocks every
# call once spent (https://intercom.help/unleashed-support/en/articles/11582291-api-usage-limit);
# the figure is the merchant's, so the month window comes from the tenant's plan.
UNLEASHED = ProviderSpec(
    key="unleashed",
    name="Unleashed",
    category=Category.INVENTORY,
    auth=AuthKind.API_KEY_HMAC,
    description="Inventory: products, stock on hand, customers and sales orders.",
    limits=(),
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
    page_size=1000,
    invoice_batch_size=1,
    production_url="https://api.unleashedsoftware.com",
    brand_colour="#3CB371",
    connector="connectors.unleashed.client.UnleashedConnector",
    emulator="connectors.unleashed.emulator.UnleashedEmulator",
    webhooks="connectors.unleashed.webhooks",
    package="connectors.unleashed",
)
