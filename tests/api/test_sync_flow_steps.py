"""The sync flow's steps after Start: Unleashed's API keys and an accounting provider's mapping of
accounts and tax rates, the dashboard's own forms, before the merchant is sent back (or, without a
platform address, shown the flow's closing page)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from django.test import Client
from django.urls import reverse

from syncing.models import Connection, SyncFlowLink
from tests import factories
from tests.api.test_sync_flow import PLATFORM, open_flow, path_of
from tests.consent import answer_consent

PROGRESS = reverse("syncing:sync_flow_progress")
API_KEY = reverse("syncing:sync_flow_api_key", args=["unleashed"])


def started(api, tenant, **body) -> Client:
    """A merchant's browser that has opened a link for `body` and pressed Start."""
    body = {"redirect_url": PLATFORM, **body}
    response = api.post(f"/api/v1/companies/{tenant.pk}/sync-flow-url", body, content_type="application/json")
    merchant = Client()
    open_flow(merchant, path_of(response.json()["url"]))
    return merchant


def mapping_url(connection) -> str:
    return reverse("syncing:sync_flow_mapping", args=[connection.pk])


def outcome(response) -> list[str]:
    return parse_qs(urlsplit(response["Location"]).query)["outcome"]


def offered(form, name: str) -> list[str]:
    return [value for value, _ in form.fields[name].choices if value]


def test_connecting_unleashed_opens_the_api_key_form(api, tenant):
    merchant = started(api, tenant, commerce="unleashed")

    page = merchant.get(PROGRESS)
    pressed = merchant.post(reverse("syncing:sync_flow_connect", args=["unleashed"]))

    assert API_KEY.encode() in page.content
    assert pressed["Location"] == API_KEY
    assert b"API id" in merchant.get(API_KEY).content


def test_keys_unleashed_accepts_connect_with_one_call_and_send_the_merchant_back(api, tenant, unleashed):
    merchant = started(api, tenant, commerce="unleashed")

    saved = merchant.post(API_KEY, {"api_id": unleashed.api_id, "api_key": unleashed.api_key})
    back = merchant.get(saved["Location"])

    connection = Connection.objects.get(tenant=tenant, provider="unleashed")
    assert connection.status == Connection.Status.ACTIVE
    assert unleashed.calls() == 1
    assert (saved["Location"], outcome(back)) == (PROGRESS, ["connected"])


def test_keys_unleashed_refuses_are_explained_and_nothing_is_kept(api, tenant, unleashed):
    merchant = started(api, tenant, commerce="unleashed")

    response = merchant.post(API_KEY, {"api_id": unleashed.api_id, "api_key": "not-the-key"})

    assert response.status_code == 200
    assert "Unleashed did not accept this API id and key" in response.content.decode()
    assert not Connection.objects.filter(provider="unleashed").exists()
    assert SyncFlowLink.objects.get().finished_at is None


def test_a_mistyped_key_is_refused_before_asking_unleashed(api, tenant, unleashed):
    merchant = started(api, tenant, commerce="unleashed")

    response = merchant.post(API_KEY, {"api_id": unleashed.api_id, "api_key": "clé secrète"})

    assert response.status_code == 200
    assert "api_key" in response.context["form"].errors
    assert unleashed.calls() == 0


def test_the_key_form_is_only_for_a_provider_the_link_names(api, tenant, unleashed):
    merchant = started(api, tenant, accounting="xero")

    response = merchant.post(API_KEY, {"api_id": unleashed.api_id, "api_key": unleashed.api_key})

    assert response.status_code == 410
    assert not Connection.objects.exists()


def test_a_connected_accounting_provider_waits_for_its_mapping(api, tenant, xero, connect):
    connection = connect(xero, "xero")
    merchant = started(api, tenant, accounting="xero")

    page = merchant.get(PROGRESS)

    assert page.status_code == 200
    assert mapping_url(connection).encode() in page.content


def test_the_mapping_step_offers_the_accounts_the_platform_made_visible(api, tenant, xero, connect):
    connection = connect(xero, "xero")
    api.put(
        f"/api/v1/connections/{connection.pk}/visible-accounts",
        {"accounts": ["260", "090"]},
        content_type="application/json",
    )
    merchant = started(api, tenant, accounting="xero")

    form = merchant.get(mapping_url(connection)).context["form"]

    assert (offered(form, "sales_account_code"), offered(form, "payment_account_code")) == (["260"], ["090"])


def test_the_mapping_step_offers_no_way_to_disconnect(api, tenant, xero, connect):
    connection = connect(xero, "xero")
    merchant = started(api, tenant, accounting="xero")

    page = merchant.get(mapping_url(connection))

    assert b'name="sales_account_code"' in page.content
    assert reverse("syncing:disconnect", args=[connection.pk]).encode() not in page.content


def test_saving_the_mapping_keeps_it_and_sends_the_merchant_back(api, tenant, xero, connect):
    connection = connect(xero, "xero")
    factories.ProductFactory(tenant=tenant, tax_code="20% VAT")
    merchant = started(api, tenant, accounting="xero")
    chosen = {"sales_account_code": "260", "payment_account_code": "090", "tax_rate_0": "OUTPUT2"}

    saved = merchant.post(mapping_url(connection), chosen | {"poll_minutes": 60})
    back = merchant.get(saved["Location"])

    connection.refresh_from_db()
    assert (connection.sales_account_code, connection.payment_account_code) == ("260", "090")
    assert connection.tax_rate_map == {"20% VAT": "OUTPUT2"}
    assert outcome(back) == ["connected"]


def test_an_invalid_mapping_is_shown_again_with_its_errors(api, tenant, xero, connect):
    connection = connect(xero, "xero")
    merchant = started(api, tenant, accounting="xero")

    response = merchant.post(mapping_url(connection), {"sales_account_code": "999", "poll_minutes": 5})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"sales_account_code", "poll_minutes"}
    assert SyncFlowLink.objects.get().finished_at is None


def test_another_companys_connection_cannot_be_mapped_through_a_link(api, tenant, xero, connect, charlie):
    strangers = connect(xero, "xero", tenant=charlie.memberships.get().tenant)
    merchant = started(api, tenant, accounting="xero")

    response = merchant.post(mapping_url(strangers), {"sales_account_code": "200", "poll_minutes": 60})

    assert response.status_code == 410
    strangers.refresh_from_db()
    assert strangers.sales_account_code == ""


def test_without_a_platform_address_the_flow_ends_on_its_own_page(api, tenant, unleashed):
    merchant = started(api, tenant, commerce="unleashed", redirect_url=None)

    merchant.post(API_KEY, {"api_id": unleashed.api_id, "api_key": unleashed.api_key})
    page = merchant.get(PROGRESS)

    assert page.status_code == 200
    assert b"Everything you were asked to connect is set up" in page.content
    assert SyncFlowLink.objects.get().outcome == "connected"


def test_commerce_and_accounting_are_connected_and_mapped_in_one_journey(api, tenant, xero, unleashed):
    merchant = started(api, tenant, commerce="unleashed", accounting="xero")

    merchant.post(API_KEY, {"api_id": unleashed.api_id, "api_key": unleashed.api_key})
    still_open = merchant.get(PROGRESS)
    consent = merchant.post(reverse("syncing:sync_flow_connect", args=["xero"]))["Location"]
    to_mapping = merchant.get(answer_consent(consent, "allow"))
    to_progress = merchant.post(to_mapping["Location"], {"sales_account_code": "200", "poll_minutes": 60})
    back = merchant.get(to_progress["Location"])

    xero_connection = Connection.objects.get(tenant=tenant, provider="xero")
    assert still_open.status_code == 200
    assert to_mapping["Location"] == mapping_url(xero_connection)
    assert xero_connection.sales_account_code == "200"
    assert outcome(back) == ["connected"]
    assert set(Connection.objects.filter(status="active").values_list("provider", flat=True)) == {
        "unleashed",
        "xero",
    }
