"""POST /syncs: a sync for a date range (backfill) of one connection, queued and answered with
its run."""

import pytest
from django_q.models import OrmQ

from syncing.models import Connection, SyncRun
from tests import factories


@pytest.fixture
def connection(tenant):
    return factories.ConnectionFactory(tenant=tenant, provider="xero")


def post(client, body):
    return client.post("/api/v1/syncs", body, content_type="application/json")


def test_a_backfill_is_recorded_with_its_range_and_queued_once_committed(
    api, connection, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            api, {"connection": connection.pk, "start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00"}
        )

    assert response.status_code == 202
    body = response.json()
    run = SyncRun.objects.get(pk=body["id"])
    assert (run.kind, run.status, run.trigger) == ("backfill", "running", "api")
    assert (body["range_start"], body["range_end"]) == ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
    assert OrmQ.objects.count() == 1


def test_a_range_ending_before_it_starts_names_the_end(api, connection):
    response = post(
        api, {"connection": connection.pk, "start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}
    )

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "end"
    assert not SyncRun.objects.exists()


def test_a_backfill_without_a_start_names_the_field(api, connection):
    response = post(api, {"connection": connection.pk})

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "start"


def test_a_disabled_connection_cannot_be_backfilled(api, connection):
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.DISABLED)

    response = post(api, {"connection": connection.pk, "start": "2026-01-01T00:00:00Z"})

    assert response.status_code == 409
    assert response.json()["message"] == "The connection is disabled."


def test_another_companys_connection_is_not_found(strangers_api, connection):
    response = post(strangers_api, {"connection": connection.pk, "start": "2026-01-01T00:00:00Z"})

    assert response.status_code == 404
    assert not SyncRun.objects.exists()


def test_a_backfill_needs_a_key(anonymous, connection):
    assert post(anonymous, {"connection": connection.pk, "start": "2026-01-01T00:00:00Z"}).status_code == 401
