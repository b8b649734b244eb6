"""The sync-flow URL: issued through the API, opened once by a merchant with no account, who
connects the chosen providers (the Xero emulator's real consent page), maps the accounts, and is
sent back."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from django.test import Client
from django.utils import timezone

from syncing.models import Connection, EventDelivery, SyncFlowLink
from syncing.services import outbound
from tests.consent import answer_consent

PLATFORM = "https://platform.example/done?ref=7"


def issue(api, tenant, **body) -> dict:
    body = {"accounting": "xero", "redirect_url": PLATFORM, **body}
    response = api.post(f"/api/v1/companies/{tenant.pk}/sync-flow-url", body, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def open_flow(merchant: Client, url: str):
    """Open the link and press Start, as the merchant does."""
    assert merchant.get(url).status_code == 200
    return merchant.post(url)


def test_the_url_carries_a_passcode_of_which_only_a_hash_is_kept(api, tenant):
    body = issue(api, tenant)

    passcode = urlsplit(body["url"]).path.rstrip("/").rsplit("/", 1)[-1]
    link = SyncFlowLink.objects.get()
    assert passcode not in link.passcode_hash and len(passcode) >= 40
    assert (link.tenant, link.providers, link.redirect_url) == (tenant, ["xero"], PLATFORM)
    assert timedelta(minutes=59) < link.expires_at - timezone.now() <= timedelta(hours=1)


def test_a_provider_of_the_wrong_kind_names_the_field(api, tenant):
    response = api.post(
        f"/api/v1/companies/{tenant.pk}/sync-flow-url",
        {"commerce": "xero", "redirect_url": PLATFORM},
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "commerce"
    assert not SyncFlowLink.objects.exists()


def test_choosing_no_provider_names_the_field(api, tenant):
    response = api.post(
        f"/api/v1/companies/{tenant.pk}/sync-flow-url",
        {"redirect_url": PLATFORM},
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "commerce"


def test_another_companys_sync_flow_url_is_not_issued(strangers_api, tenant):
    response = strangers_api.post(
        f"/api/v1/companies/{tenant.pk}/sync-flow-url",
        {"accounting": "xero", "redirect_url": PLATFORM},
        content_type="application/json",
    )

    assert response.status_code == 404
    assert not SyncFlowLink.objects.exists()


def test_a_sync_flow_url_needs_a_key(anonymous, tenant):
    response = anonymous.post(
        f"/api/v1/companies/{tenant.pk}/sync-flow-url",
        {"accounting": "xero", "redirect_url": PLATFORM},
        content_type="application/json",
    )

    assert response.status_code == 401


def test_starting_the_flow_shows_the_chosen_providers_without_signing_in(api, tenant):
    merchant = Client()
    url = path_of(issue(api, tenant)["url"])

    page = merchant.get(open_flow(merchant, url)["Location"])

    assert page.status_code == 200
    assert b"Connect Xero" in page.content and b"Connect Alice" in page.content


def test_previewing_the_link_does_not_spend_it(api, tenant):
    url = path_of(issue(api, tenant)["url"])

    Client().get(url)
    Client().get(url)

    assert SyncFlowLink.objects.get().opened_at is None
    assert Client().post(url).status_code == 302


def test_a_link_started_a_second_time_is_refused(api, tenant):
    url = path_of(issue(api, tenant)["url"])
    open_flow(Client(), url)

    second, again = Client().get(url), Client().post(url)

    assert (second.status_code, again.status_code) == (410, 410)
    assert b"This link was already used" in second.content


def test_an_expired_link_is_refused(api, tenant):
    url = path_of(issue(api, tenant)["url"])
    SyncFlowLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = Client().post(url)

    assert response.status_code == 410
    assert b"This link has expired" in response.content
    assert SyncFlowLink.objects.get().opened_at is None


def test_a_link_never_issued_is_not_found(api, tenant):
    url = path_of(issue(api, tenant)["url"])

    response = Client().get(url[:-5] + "xxxx/")

    assert response.status_code == 404
    assert b"This link is not one we issued" in response.content


def test_connecting_through_the_link_returns_the_merchant_to_the_platform(api, tenant, xero):
    merchant = Client()
    open_flow(merchant, path_of(issue(api, tenant)["url"]))
    consent = merchant.post("/sync-flow/connect/xero/")["Location"]

    callback = answer_consent(consent, "allow")
    to_mapping = merchant.get(callback)
    mapped = {"sales_account_code": "200", "poll_minutes": 60}
    back_to_progress = merchant.post(to_mapping["Location"], mapped)
    back_to_platform = merchant.get(back_to_progress["Location"])

    connection = Connection.objects.get(tenant=tenant, provider="xero")
    assert connection.status == Connection.Status.ACTIVE
    target = urlsplit(back_to_platform["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == "https://platform.example/done"
    assert parse_qs(target.query) == {"ref": ["7"], "outcome": ["connected"], "company": [str(tenant.pk)]}
    assert SyncFlowLink.objects.get().outcome == "connected"


def test_declining_at_the_provider_returns_the_merchant_with_cancelled(api, tenant, xero):
    merchant = Client()
    open_flow(merchant, path_of(issue(api, tenant)["url"]))
    consent = merchant.post("/sync-flow/connect/xero/")["Location"]

    response = merchant.get(answer_consent(consent, "deny"))

    assert parse_qs(urlsplit(response["Location"]).query)["outcome"] == ["cancelled"]
    assert not Connection.objects.filter(status=Connection.Status.ACTIVE).exists()


def test_a_callback_from_another_browser_connects_nothing(api, tenant, xero):
    merchant, intruder = Client(), Client()
    open_flow(merchant, path_of(issue(api, tenant)["url"]))
    consent = merchant.post("/sync-flow/connect/xero/")["Location"]

    response = intruder.get(answer_consent(consent, "allow"))

    assert response.status_code == 410
    assert not Connection.objects.filter(status=Connection.Status.ACTIVE).exists()


def test_a_provider_the_platform_did_not_choose_cannot_be_connected(api, tenant):
    merchant = Client()
    open_flow(merchant, path_of(issue(api, tenant)["url"]))

    response = merchant.post("/sync-flow/connect/sage/")

    assert response.status_code == 410
    assert not Connection.objects.exists()


def test_a_connection_linked_through_the_flow_is_announced(api, tenant, xero):
    outbound.create_endpoint(
        tenant=tenant, url="https://platform.example/", event_types=["connection.linked"]
    )
    merchant = Client()
    open_flow(merchant, path_of(issue(api, tenant)["url"]))

    merchant.get(answer_consent(merchant.post("/sync-flow/connect/xero/")["Location"], "allow"))

    (delivery,) = EventDelivery.objects.all()
    connection = Connection.objects.get(tenant=tenant, provider="xero")
    assert delivery.event_type == "connection.linked"
    assert delivery.payload["data"]["connection"] == connection.pk
    assert delivery.payload["data"]["organisation"]["name"] == xero.org.name
