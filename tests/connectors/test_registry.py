"""The registry and the provider declarations agree with the code behind them."""

import pytest
from django.utils.module_loading import import_string

from connectors.base import CAPABILITY_METHODS, Capability, Connector
from connectors.errors import UnknownProvider
from connectors.registry import PROVIDERS, all_providers, get_provider

SPECS = list(all_providers().values())


def test_every_registered_provider_is_found_by_its_key():
    assert len(SPECS) == len(PROVIDERS)
    for spec in SPECS:
        assert get_provider(spec.key) is spec


def test_an_unknown_key_raises_a_typed_error():
    with pytest.raises(UnknownProvider, match="myob"):
        get_provider("myob")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_declared_capabilities_match_the_methods_the_connector_implements(spec):
    connector = spec.connector_class
    implemented = {
        capability
        for capability, method in CAPABILITY_METHODS.items()
        if getattr(connector, method) is not getattr(Connector, method)
    }
    declared = spec.capabilities - {Capability.WEBHOOKS}
    assert implemented == declared


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_webhooks_are_declared_exactly_when_the_package_verifies_them(spec):
    module = spec.webhooks_module
    assert (module is not None) == spec.can(Capability.WEBHOOKS)
    if module is not None:
        assert callable(module.verify) and callable(module.parse)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_each_provider_ships_a_logo_and_an_emulator(spec):
    assert spec.logo_svg.lstrip().startswith("<svg")
    assert spec.connector_class.spec is spec
    assert callable(import_string(spec.emulator))
