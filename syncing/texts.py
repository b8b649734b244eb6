"""Button and help texts of the sync flow (connect, choose, map, sync): the product's defaults, which
staff may override per tenant in the admin (`Tenant.sync_flow_texts`, key -> text).

`{provider}` in a text stands for the provider's name; it is replaced as plain text, so a text
staff typed cannot break a page.
"""

from __future__ import annotations

from syncing.models import Tenant

SYNC_FLOW_TEXTS: dict[str, str] = {
    "integrations_intro": "Pick the system to keep in step with your shop. You can connect more than one.",
    "connect_button": "Connect {provider}",
    "connect_help": "You sign in at {provider} and allow access; then you come back here to finish.",
    "api_key_help": (
        "Enter the API id and API key from {provider} (Integration, then API Access). "
        "We check them with {provider} before saving."
    ),
    "api_key_button": "Check and connect",
    "choose_organisation_help": "Your {provider} sign-in reaches several organisations. Choose one.",
    "choose_organisation_button": "Use this organisation",
    "mapping_intro": "Tell us where your sales go in {provider}; the accounts listed come from there.",
    "mapping_save_button": "Save settings",
    "start_sync_button": "Sync now",
    "sync_product_button": "Sync now",
    "retry_button": "Retry",
    "cancel_button": "Cancel this sale",
    "reconnect_button": "Reconnect {provider}",
    "disconnect_button": "Disconnect…",
}


def sync_flow_texts(tenant: Tenant, *, provider: str = "") -> dict[str, str]:
    """Every sync-flow text for `tenant`: its own where staff set one, else the default."""
    custom = tenant.sync_flow_texts if isinstance(tenant.sync_flow_texts, dict) else {}
    texts = {}
    for key, default in SYNC_FLOW_TEXTS.items():
        text = custom.get(key) if isinstance(custom.get(key), str) and custom.get(key).strip() else default
        texts[key] = text.replace("{provider}", provider) if provider else text
    return texts
