"""Every write this issue added refuses a bad key (401) and names the field of a bad body (422)."""

import pytest

from syncing.services import outbound
from tests import factories


@pytest.fixture
def ids(tenant):
    connection = factories.ConnectionFactory(tenant=tenant)
    endpoint, _ = outbound.create_endpoint(
        tenant=tenant, url="https://platform.example/", event_types=["sync.failed"]
    )
    return {"company": tenant.pk, "connection": connection.pk, "endpoint": endpoint.pk}


# (method, path, a valid body, a body with one bad field, the field the 422 names)
WRITES = [
    (
        "post",
        "/companies/{company}/webhook-endpoints",
        {"url": "https://p.example/", "event_types": ["sync.failed"]},
        {"url": "https://p.example/", "event_types": []},
        "event_types",
    ),
    (
        "patch",
        "/companies/{company}/webhook-endpoints/{endpoint}",
        {"active": False},
        {"active": "sometimes"},
        "active",
    ),
    (
        "put",
        "/companies/{company}/sync-flow/texts",
        {"texts": {}},
        {"texts": {"connect_button": "x" * 1001}},
        "texts.connect_button",
    ),
    (
        "post",
        "/companies/{company}/sync-flow-url",
        {"accounting": "xero", "redirect_url": "https://p.example/"},
        {"accounting": "xero", "redirect_url": "javascript:alert(1)"},
        "redirect_url",
    ),
    (
        "put",
        "/companies/{company}/config",
        {"connections": []},
        {"connections": [{"connection": 1}]},
        "connections.0.poll_interval_minutes",
    ),
    ("put", "/connections/{connection}/config", None, {"poll_interval_minutes": 0}, "poll_interval_minutes"),
    (
        "post",
        "/connections",
        {"integration": "unleashed", "api_id": "a", "api_key": "b"},
        {"integration": "unleashed", "api_id": "a"},
        "api_key",
    ),
    (
        "put",
        "/connections/{connection}/authorization",
        {"api_id": "a", "api_key": "b"},
        {"api_id": "a", "api_key": ""},
        "api_key",
    ),
    ("put", "/connections/{connection}/visible-accounts", {"accounts": []}, {"accounts": "200"}, "accounts"),
    (
        "post",
        "/syncs",
        {"connection": 0, "start": "2026-01-01T00:00:00Z"},
        {"connection": 0, "start": "soon"},
        "start",
    ),
]


def call(client, method, path, ids, body):
    url = "/api/v1" + path.format(**ids)
    return getattr(client, method)(url, body or {}, content_type="application/json")


@pytest.mark.parametrize(
    ("method", "path", "good", "bad", "field"), WRITES, ids=[f"{w[0]} {w[1]}" for w in WRITES]
)
def test_a_write_with_a_bad_key_is_unauthorised(anonymous, ids, method, path, good, bad, field):
    anonymous.defaults["HTTP_AUTHORIZATION"] = "Bearer shk_0000_not-a-key"

    response = call(anonymous, method, path, ids, good)

    assert response.status_code == 401
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    ("method", "path", "good", "bad", "field"), WRITES, ids=[f"{w[0]} {w[1]}" for w in WRITES]
)
def test_a_write_with_a_bad_field_names_it(api, ids, method, path, good, bad, field):
    response = call(api, method, path, ids, bad)

    assert response.status_code == 422
    assert field in [detail["field"] for detail in response.json()["details"]]


def test_another_companys_connection_config_is_not_replaced(strangers_api, ids):
    body = {
        "poll_interval_minutes": 30,
        "sweep_interval_minutes": 240,
        "sweep_size": 10,
        "posting_mode": "detailed",
        "sales_account_code": "",
        "payment_account_code": "",
        "payment_accounts": {},
        "tax_rate_map": {},
        "cash_sale_contact_id": "",
        "create_cash_sale_contact": True,
        "send_contact_details": False,
    }

    response = call(strangers_api, "put", "/connections/{connection}/config", ids, body)

    assert response.status_code == 404


def test_nobody_listening_costs_one_query(tenant, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert outbound.emit_event(tenant, "sync.completed", {"run": 1}) == []
