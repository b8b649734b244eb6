"""The mapping step after connecting: accounts and tax rates are read from the provider, limited to
the accounts staff made visible, and saved as the merchant chose them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def xero(start_emulator):
    return start_emulator("xero")


@pytest.fixture
def connection(xero, connect):
    return connect(xero, "xero")


def settings_url(connection) -> str:
    return reverse("syncing:connection_settings", args=[connection.pk])


def offered(form, name: str) -> list[str]:
    return [value for value, _ in form.fields[name].choices if value]


def test_sales_and_payment_accounts_are_read_from_xero(connection, alice, client_for):
    form = client_for(alice).get(settings_url(connection)).context["form"]
    sales, payment = offered(form, "sales_account_code"), offered(form, "payment_account_code")
    assert (sales, "090" in payment, "200" in payment) == (["200", "260"], True, False)


def test_only_the_accounts_staff_made_visible_are_offered(connection, alice, client_for):
    connection.visible_accounts = ["200", "090"]
    connection.save()
    form = client_for(alice).get(settings_url(connection)).context["form"]
    assert offered(form, "sales_account_code") == ["200"]
    assert offered(form, "payment_account_code") == ["090"]


def test_each_view_reads_each_list_once_and_keeps_nothing(xero, connection, alice, client_for):
    client = client_for(alice)
    client.get(settings_url(connection))
    assert (xero.calls("GET", "/Accounts"), xero.calls("GET", "/TaxRates")) == (1, 1)
    client.get(settings_url(connection))
    assert (xero.calls("GET", "/Accounts"), xero.calls("GET", "/TaxRates")) == (2, 2)


def test_a_code_xero_does_not_offer_stays_selectable_and_says_so(connection, alice, client_for):
    connection.sales_account_code = "999"
    connection.save()
    form = client_for(alice).get(settings_url(connection)).context["form"]
    labels = dict(form.fields["sales_account_code"].choices)
    assert labels["999"] == "999 (not offered by Xero)"


def test_the_chosen_accounts_and_tax_rates_are_saved(connection, tenant, alice, client_for):
    factories.ProductFactory(tenant=tenant, tax_code="20% VAT")
    client = client_for(alice)
    form = client.get(settings_url(connection)).context["form"]
    assert form.fields["tax_rate_0"].label == "Tax code “20% VAT”"
    response = client.post(
        settings_url(connection),
        {
            "sales_account_code": "260",
            "payment_account_code": "090",
            "tax_rate_0": "OUTPUT2",
            "poll_minutes": 60,
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    connection.refresh_from_db()
    assert (connection.sales_account_code, connection.payment_account_code) == ("260", "090")
    assert connection.tax_rate_map == {"20% VAT": "OUTPUT2"}


def test_an_account_xero_does_not_offer_is_refused(connection, alice, client_for):
    response = client_for(alice).post(
        settings_url(connection), {"sales_account_code": "400", "poll_minutes": 60}
    )
    assert "sales_account_code" in response.context["form"].errors


def test_when_xero_cannot_be_read_the_codes_are_typed_and_the_page_says_why(
    xero, connection, alice, client_for
):
    xero.malform_next(times=5)
    response = client_for(alice).get(settings_url(connection))
    assert "could not read your accounts from Xero" in response.context["form"].problem
    assert not hasattr(response.context["form"].fields["sales_account_code"], "choices")


def test_sage_accounts_are_offered_by_nominal_code(start_emulator, connect, alice, client_for):
    sage = connect(start_emulator("sage"), "sage")
    form = client_for(alice).get(settings_url(sage)).context["form"]
    assert offered(form, "sales_account_code") == ["4000", "4010"]
    assert offered(form, "payment_account_code") == ["1200"]
