"""The embedding platform's key: it creates companies (handing back each one's first key) and
reaches every company by id; a company's own key may not create companies."""

import pytest
from django.test import Client

from syncing.models import Tenant
from syncing.services.api_keys import create_api_key, create_platform_key, revoke_api_key

COMPANIES = "/api/v1/companies"


def bearer(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def platform(db) -> Client:
    return bearer(create_platform_key(name="embedding platform")[1])


def create(client: Client, body: dict):
    return client.post(COMPANIES, body, content_type="application/json")


def test_the_platform_creates_a_company_with_its_name_slug_and_time_zone(platform):
    response = create(platform, {"name": "Dana's Deli", "timezone": "Europe/London"})

    assert response.status_code == 201
    body = response.json()
    company = Tenant.objects.get(pk=body["id"])
    assert (company.name, company.slug, company.timezone) == ("Dana's Deli", "danas-deli", "Europe/London")
    assert (body["name"], body["slug"], body["timezone"]) == ("Dana's Deli", "danas-deli", "Europe/London")


def test_the_new_companys_first_key_acts_for_that_company(platform):
    body = create(platform, {"name": "Dana's Deli", "slug": "dana"}).json()

    me = bearer(body["api_key"]).get(f"{COMPANIES}/me").json()

    assert (me["id"], me["slug"]) == (body["id"], "dana")


def test_the_first_key_is_stored_only_hashed(platform):
    body = create(platform, {"name": "Dana's Deli"}).json()

    key = Tenant.objects.get(pk=body["id"]).api_keys.get()
    assert body["api_key"] not in key.hashed_key
    assert body["api_key"].split("_")[1] == key.prefix


def test_a_slug_another_company_has_is_a_conflict(platform, tenant):
    response = create(platform, {"name": "Another Alice", "slug": "alices-shop"})

    assert response.status_code == 409
    assert response.json()["details"] == [
        {"field": "slug", "message": "A company with the slug 'alices-shop' exists already."}
    ]
    assert Tenant.objects.filter(name="Another Alice").count() == 0


def test_a_name_that_clashes_once_made_a_slug_is_a_conflict(platform, tenant):
    assert create(platform, {"name": "Alice's shop"}).status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "Dana's Deli", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "Dana's Deli", "slug": "no spaces"}, "slug"),
        ({"name": "!!!"}, "slug"),
    ],
    ids=["no-name", "blank-name", "unknown-time-zone", "bad-slug", "name-without-a-slug"],
)
def test_an_invalid_company_is_refused_with_the_field_named(platform, body, field):
    response = create(platform, body)

    assert response.status_code == 422
    assert [detail["field"] for detail in response.json()["details"]] == [field]
    assert not Tenant.objects.exists()


def test_a_companys_key_may_not_create_companies(api, tenant):
    response = create(api, {"name": "Dana's Deli"})

    assert response.status_code == 403
    assert response.json() == {
        "status": 403,
        "message": "Only the platform's API key may do this; a company's key may not.",
        "details": [],
    }
    assert list(Tenant.objects.all()) == [tenant]


@pytest.mark.parametrize("key", ["shk_nope_nope", None], ids=["unknown", "missing"])
def test_creating_a_company_needs_a_valid_key(db, key):
    client = bearer(key) if key else Client()

    response = create(client, {"name": "Dana's Deli"})

    assert (response.status_code, response.json()["status"]) == (401, 401)
    assert not Tenant.objects.exists()


def test_a_revoked_platform_key_is_refused(db):
    key, plaintext = create_platform_key(name="embedding platform")
    revoke_api_key(key=key)

    assert create(bearer(plaintext), {"name": "Dana's Deli"}).status_code == 401


def test_the_platform_lists_every_company(platform, tenant, charlie):
    created = create(platform, {"name": "Dana's Deli"}).json()

    listed = platform.get(COMPANIES).json()["results"]

    assert sorted(company["slug"] for company in listed) == ["alices-shop", "charlies-shop", created["slug"]]


def test_the_platform_reads_and_configures_any_company_by_id(platform, tenant):
    assert platform.get(f"{COMPANIES}/{tenant.pk}").json()["slug"] == "alices-shop"
    assert platform.get(f"{COMPANIES}/{tenant.pk}/config").json() == {"connections": []}
    texts = platform.put(
        f"{COMPANIES}/{tenant.pk}/sync-flow/texts", {"texts": {}}, content_type="application/json"
    )
    assert texts.status_code == 200


def test_the_platform_registers_webhook_endpoints_for_a_company(platform, tenant):
    response = platform.post(
        f"{COMPANIES}/{tenant.pk}/webhook-endpoints",
        {"url": "https://platform.example/hooks", "event_types": ["sync.completed"]},
        content_type="application/json",
    )

    assert response.status_code == 201
    assert tenant.webhook_endpoints.get().url == "https://platform.example/hooks"


def test_an_unknown_company_id_is_not_found_for_the_platform(platform):
    response = platform.get(f"{COMPANIES}/999999")

    assert (response.status_code, response.json()["message"]) == (404, "No company 999999.")


def test_a_company_key_still_does_not_reach_a_company_the_platform_created(platform, api, tenant):
    created = create(platform, {"name": "Dana's Deli"}).json()

    assert api.get(f"{COMPANIES}/{created['id']}").status_code == 404
    assert [company["id"] for company in api.get(COMPANIES).json()["results"]] == [tenant.pk]


@pytest.mark.parametrize("path", ["/api/v1/connections", "/api/v1/products", f"{COMPANIES}/me"])
def test_paths_acting_for_the_keys_own_company_are_forbidden_to_the_platform(platform, path):
    response = platform.get(path)

    assert response.status_code == 403
    assert response.json()["message"].startswith("This acts for one company: use that company's API key")


def test_the_platform_key_has_its_own_rate_limit(tenant, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    platform = bearer(create_platform_key(name="embedding platform")[1])
    _, tenant_key = create_api_key(tenant=tenant, name="till")
    bearer(tenant_key).get(f"{COMPANIES}/me")
    bearer(tenant_key).get(f"{COMPANIES}/me")

    statuses = [platform.get(COMPANIES).status_code for _ in range(3)]
    refused = platform.get(COMPANIES)

    assert statuses == [200, 200, 429]
    assert refused.json()["status"] == 429 and "Retry-After" in refused


def test_the_platform_lists_the_integrations(platform):
    response = platform.get("/api/v1/integrations")

    assert response.status_code == 200
    assert "xero" in {integration["key"] for integration in response.json()["results"]}
