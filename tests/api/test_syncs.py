"""GET /syncs and /syncs/{id}."""

import pytest

from syncing.models import SyncRun
from tests import factories


@pytest.fixture
def connection(tenant):
    return factories.ConnectionFactory(tenant=tenant)


def test_syncs_are_listed_newest_first_and_filtered(api, connection, tenant):
    other = factories.ConnectionFactory(tenant=tenant)
    older = factories.SyncRunFactory(connection=connection, kind=SyncRun.Kind.STOCK)
    newer = factories.SyncRunFactory(connection=connection, kind=SyncRun.Kind.STOCK)
    factories.SyncRunFactory(connection=connection, kind=SyncRun.Kind.PRODUCTS)
    factories.SyncRunFactory(connection=other, kind=SyncRun.Kind.STOCK)

    body = api.get("/api/v1/syncs", {"connection": connection.pk, "kind": "stock"}).json()

    assert [run["id"] for run in body["results"]] == [newer.pk, older.pk]


def test_syncs_page_through_with_the_cursor(api, connection):
    runs = [factories.SyncRunFactory(connection=connection).pk for _ in range(3)]

    first = api.get("/api/v1/syncs", {"limit": 2}).json()
    second = api.get("/api/v1/syncs", {"limit": 2, "cursor": first["next_cursor"]}).json()

    assert [run["id"] for run in first["results"] + second["results"]] == runs[::-1]


def test_syncs_filter_by_status(api, connection):
    failed = factories.SyncRunFactory(connection=connection, status=SyncRun.Status.FAILED)
    factories.SyncRunFactory(connection=connection, status=SyncRun.Status.SUCCEEDED)

    body = api.get("/api/v1/syncs", {"status": "failed"}).json()

    assert [run["id"] for run in body["results"]] == [failed.pk]


def test_a_sync_is_read_with_its_counts(api, connection):
    run = factories.SyncRunFactory(connection=connection, fetched=7, failed=1)

    body = api.get(f"/api/v1/syncs/{run.pk}").json()

    assert (body["connection"], body["fetched"], body["failed"]) == (connection.pk, 7, 1)


def test_another_tenants_syncs_are_not_found_or_listed(api, charlie):
    theirs = factories.SyncRunFactory(connection__tenant=charlie.memberships.get().tenant)

    assert api.get(f"/api/v1/syncs/{theirs.pk}").status_code == 404
    assert api.get("/api/v1/syncs").json()["results"] == []


def test_a_non_numeric_connection_filter_names_the_field(api):
    response = api.get("/api/v1/syncs", {"connection": "abc"})

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "connection"


def test_a_connection_filter_no_row_could_have_names_the_field(api):
    response = api.get("/api/v1/syncs", {"connection": 2**63})

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "connection"


def test_an_id_no_row_could_have_is_not_found(api):
    assert api.get(f"/api/v1/syncs/{2**63}").status_code == 404


def test_syncs_need_a_key(anonymous, db):
    assert anonymous.get("/api/v1/syncs").status_code == 401
