"""Every provider the hub speaks to, one line each.

To add a provider: create `connectors/<key>/` with `provider.py` (a `ProviderSpec`), `client.py`
(its `Connector`), `mapping.py`, `webhooks.py` (if it sends any), `emulator.py`, `samples/` and
`logo.svg`, then add the dotted path of its spec below. Nothing else in the project changes: model
choices, the admin, budgets and the dashboard all read this list.
"""

from __future__ import annotations

from functools import cache

from django.utils.module_loading import import_string

from connectors.base import ProviderSpec
from connectors.errors import UnknownProvider

PROVIDERS: tuple[str, ...] = (
    "connectors.xero.provider.XERO",
    "connectors.sage.provider.SAGE",
    "connectors.vend.provider.VEND",
    "connectors.unleashed.provider.UNLEASHED",
)


@cache
def all_providers() -> dict[str, ProviderSpec]:
    specs = (import_string(path) for path in PROVIDERS)
    return {spec.key: spec for spec in specs}


def get_provider(key: str) -> ProviderSpec:
    try:
        return all_providers()[key]
    except KeyError:
        raise UnknownProvider(f"No provider is registered as {key!r}.") from None


def provider_choices() -> list[tuple[str, str]]:
    return [(spec.key, spec.name) for spec in all_providers().values()]
