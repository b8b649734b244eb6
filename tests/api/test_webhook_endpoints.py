"""A company's webhook endpoints: create (secret shown once), list, read, change, delete."""

import pytest

from syncing.models import WebhookEndpoint
from syncing.services import outbound

NEW = {"url": "https://platform.example/hooks", "event_types": ["sync.completed", "outbox.posted"]}


def endpoints_url(company_id: int) -> str:
    return f"/api/v1/companies/{company_id}/webhook-endpoints"


@pytest.fixture
def endpoint(tenant):
    return outbound.create_endpoint(
        tenant=tenant, url="https://platform.example/a", event_types=["sync.failed"]
    )[0]


def test_an_endpoint_is_created_with_its_secret_shown_once(api, tenant):
    response = api.post(endpoints_url(tenant.pk), NEW, content_type="application/json")

    assert response.status_code == 201
    body = response.json()
    stored = WebhookEndpoint.objects.get(pk=body["id"])
    assert body["secret"] == stored.secret and body["secret"].startswith("whsec_")
    assert (stored.tenant, stored.url, stored.event_types) == (tenant, NEW["url"], NEW["event_types"])
    assert "secret" not in api.get(f"{endpoints_url(tenant.pk)}/{body['id']}").json()


def test_endpoints_are_listed_a_page_at_a_time(api, tenant, endpoint):
    second = outbound.create_endpoint(
        tenant=tenant, url="https://platform.example/b", event_types=["sync.failed"]
    )[0]

    first_page = api.get(endpoints_url(tenant.pk), {"limit": 1}).json()
    second_page = api.get(endpoints_url(tenant.pk), {"limit": 1, "cursor": first_page["next_cursor"]}).json()

    assert [e["id"] for e in first_page["results"] + second_page["results"]] == [endpoint.pk, second.pk]


def test_an_endpoint_is_changed_by_the_fields_sent(api, tenant, endpoint):
    response = api.patch(
        f"{endpoints_url(tenant.pk)}/{endpoint.pk}", {"active": False}, content_type="application/json"
    )

    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.event_types) == (False, ["sync.failed"])


def test_an_endpoint_is_deleted(api, tenant, endpoint):
    response = api.delete(f"{endpoints_url(tenant.pk)}/{endpoint.pk}")

    assert response.status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_an_unknown_event_type_names_the_field(api, tenant):
    body = {**NEW, "event_types": ["sync.exploded"]}

    response = api.post(endpoints_url(tenant.pk), body, content_type="application/json")

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "event_types.0"
    assert not WebhookEndpoint.objects.exists()


def test_a_url_that_is_not_a_web_address_names_the_field(api, tenant):
    response = api.post(endpoints_url(tenant.pk), {**NEW, "url": "ftp://x"}, content_type="application/json")

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "url"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("get", "", None), ("post", "", NEW), ("get", "/{id}", None), ("patch", "/{id}", {"active": False})],
)
def test_another_companys_endpoints_are_not_found(strangers_api, tenant, endpoint, method, suffix, body):
    url = endpoints_url(tenant.pk) + suffix.format(id=endpoint.pk)
    kwargs = {"data": body, "content_type": "application/json"} if body else {}

    response = getattr(strangers_api, method)(url, **kwargs)

    assert response.status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.active and WebhookEndpoint.objects.count() == 1


def test_an_endpoint_of_another_company_is_not_found_under_ones_own(strangers_api, charlie, endpoint):
    own_company = charlie.memberships.get().tenant

    response = strangers_api.delete(f"{endpoints_url(own_company.pk)}/{endpoint.pk}")

    assert response.status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_endpoints_need_a_key(anonymous, tenant):
    response = anonymous.get(endpoints_url(tenant.pk), headers={"Authorization": "Bearer shk_nope_nope"})

    assert response.status_code == 401
