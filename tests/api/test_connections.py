"""Connections: listing with cursors, enable/disable, settings and syncs started on demand."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from syncing.models import Connection, SyncRun
from tests import factories


@pytest.fixture
def connection(tenant):
    return factories.ConnectionFactory(tenant=tenant, provider="xero", credentials={"access_token": "t"})


@pytest.fixture
def strangers_connection(charlie):
    return factories.ConnectionFactory(tenant=charlie.memberships.get().tenant)


def test_connections_are_listed_a_page_at_a_time(api, tenant, strangers_connection):
    mine = [factories.ConnectionFactory(tenant=tenant).pk for _ in range(3)]

    first = api.get("/api/v1/connections", {"limit": 2}).json()
    second = api.get("/api/v1/connections", {"limit": 2, "cursor": first["next_cursor"]}).json()

    assert [c["id"] for c in first["results"] + second["results"]] == mine
    assert second["next_cursor"] is None


def test_a_cursor_the_api_did_not_issue_is_a_bad_request(api):
    response = api.get("/api/v1/connections", {"cursor": "not-a-cursor"})

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "cursor"


def test_a_limit_out_of_range_names_the_field(api):
    response = api.get("/api/v1/connections", {"limit": 0})

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "limit"


def test_a_connection_is_read_with_its_organisation(api, connection):
    body = api.get(f"/api/v1/connections/{connection.pk}").json()

    assert body["integration"] == "xero"
    assert body["organisation"] == {"id": connection.remote_org_id, "name": connection.remote_org_name}
    assert body["enabled"] is True


def test_a_connection_is_read_with_its_promise_and_the_lag_of_its_last_pulls(api, tenant, connection):
    tenant.monthly_call_allowance = 10**9
    tenant.save()
    start = timezone.now() - timedelta(hours=3)
    for offset in (0, 60, 90):
        factories.succeeded_run(connection, started_at=start + timedelta(minutes=offset))

    body = api.get(f"/api/v1/connections/{connection.pk}").json()

    # Polls every 30 minutes, each taking a minute; the newest pull first.
    assert body["freshness_promise_seconds"] == 31 * 60
    assert body["recent_lag_seconds"] == [31 * 60, 61 * 60]
    assert body["poll_interval_effective_seconds"] == 30 * 60


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"enabled": False}),
        ("get", "/config", None),
        ("patch", "/config", {"sweep_size": 5}),
        ("post", "/syncs", {"kind": "products"}),
        ("get", "/syncs/latest", None),
        ("get", "/syncs/last-successful", None),
    ],
)
def test_another_tenants_connection_is_not_found(api, strangers_connection, method, suffix, body):
    url = f"/api/v1/connections/{strangers_connection.pk}{suffix}"
    kwargs = {"data": body, "content_type": "application/json"} if body else {}

    response = getattr(api, method)(url, **kwargs)

    assert response.status_code == 404
    assert response.json()["status"] == 404
    strangers_connection.refresh_from_db()
    assert strangers_connection.status == Connection.Status.ACTIVE
    assert strangers_connection.sweep_size == 100


def test_connections_need_a_key(anonymous, connection):
    assert anonymous.get(f"/api/v1/connections/{connection.pk}").status_code == 401


def test_disabling_and_enabling_a_connection(api, connection):
    url = f"/api/v1/connections/{connection.pk}"

    disabled = api.patch(url, {"enabled": False}, content_type="application/json").json()
    enabled = api.patch(url, {"enabled": True}, content_type="application/json").json()

    assert (disabled["status"], disabled["enabled"]) == ("disabled", False)
    assert (enabled["status"], enabled["enabled"]) == ("active", True)


def test_a_disconnected_connection_cannot_be_enabled(api, tenant):
    gone = factories.ConnectionFactory(tenant=tenant, status=Connection.Status.DISABLED, credentials={})

    response = api.patch(f"/api/v1/connections/{gone.pk}", {"enabled": True}, content_type="application/json")

    assert response.status_code == 409


def test_enabling_needs_a_boolean(api, connection):
    response = api.patch(
        f"/api/v1/connections/{connection.pk}", {"enabled": "maybe"}, content_type="application/json"
    )

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "enabled"


def test_config_changes_only_the_fields_sent_and_clamps_intervals(api, connection):
    response = api.patch(
        f"/api/v1/connections/{connection.pk}/config",
        {"poll_interval_minutes": 600, "posting_mode": "daily_summary", "tax_rate_map": {"VAT20": "OUTPUT2"}},
        content_type="application/json",
    )

    connection.refresh_from_db()
    assert response.status_code == 200
    assert connection.poll_interval == timedelta(hours=2)
    assert connection.posting_mode == "daily_summary"
    assert connection.tax_rate_map == {"VAT20": "OUTPUT2"}
    assert connection.sweep_interval == timedelta(hours=4)
    assert response.json()["poll_interval_minutes"] == 120


def test_config_refuses_an_unknown_posting_mode(api, connection):
    response = api.patch(
        f"/api/v1/connections/{connection.pk}/config",
        {"posting_mode": "weekly"},
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "posting_mode"


def test_a_sync_is_queued_and_accepted(api, connection):
    response = api.post(
        f"/api/v1/connections/{connection.pk}/syncs", {"kind": "customers"}, content_type="application/json"
    )

    assert response.status_code == 202
    [task] = OrmQ.objects.all()
    assert task.func() == "syncing.tasks.pull_changed_customers_task"
    assert task.args() == (connection.pk, SyncRun.Trigger.API)


def test_a_sync_of_an_unknown_kind_is_invalid(api, connection):
    response = api.post(
        f"/api/v1/connections/{connection.pk}/syncs", {"kind": "invoices"}, content_type="application/json"
    )

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "kind"
    assert not OrmQ.objects.exists()


def test_a_sync_on_a_connection_needing_reauthorisation_conflicts(api, tenant):
    stuck = factories.ConnectionFactory(tenant=tenant, status=Connection.Status.NEEDS_REAUTH)

    response = api.post(
        f"/api/v1/connections/{stuck.pk}/syncs", {"kind": "products"}, content_type="application/json"
    )

    assert response.status_code == 409
    assert not OrmQ.objects.exists()


def test_latest_and_last_successful_syncs(api, connection):
    good = factories.SyncRunFactory(connection=connection, status=SyncRun.Status.SUCCEEDED)
    bad = factories.SyncRunFactory(connection=connection, status=SyncRun.Status.FAILED)
    base = f"/api/v1/connections/{connection.pk}/syncs"

    assert api.get(f"{base}/latest").json()["id"] == bad.pk
    assert api.get(f"{base}/last-successful").json()["id"] == good.pk
    assert api.get(f"{base}/latest", {"kind": "stock"}).status_code == 404
