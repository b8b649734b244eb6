"""Pruning the API-call log and rotating encryption keys."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from syncing.models import ApiCall, ApiUsage
from syncing.services import maintenance
from tests import factories

pytestmark = pytest.mark.django_db


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def test_pruning_deletes_calls_older_than_the_retention_period():
    connection = factories.ConnectionFactory()
    old = factories.ApiCallFactory.create_batch(5, connection=connection, at=days_ago(40))
    recent = factories.ApiCallFactory(connection=connection, at=days_ago(2))
    deleted = maintenance.prune_api_calls(older_than=timedelta(days=30), batch_size=2)
    assert deleted == len(old)
    assert list(ApiCall.objects.values_list("pk", flat=True)) == [recent.pk]


def test_pruning_keeps_the_hourly_usage_counts():
    connection = factories.ConnectionFactory()
    factories.ApiCallFactory(connection=connection, at=days_ago(40))
    usage = factories.ApiUsageFactory(connection=connection, hour=days_ago(40), calls=7)
    maintenance.prune_api_calls(older_than=timedelta(days=30))
    assert not ApiCall.objects.exists()
    assert ApiUsage.objects.get(pk=usage.pk).calls == 7


@override_settings(API_CALL_RETENTION_DAYS=10)
def test_the_command_defaults_to_the_configured_retention():
    connection = factories.ConnectionFactory()
    factories.ApiCallFactory(connection=connection, at=days_ago(11))
    kept = factories.ApiCallFactory(connection=connection, at=days_ago(9))
    out = io.StringIO()
    call_command("prune_api_calls", stdout=out)
    assert list(ApiCall.objects.values_list("pk", flat=True)) == [kept.pk]
    assert "Deleted 1 API call(s) older than 10 day(s)" in out.getvalue()


def test_the_command_takes_a_number_of_days():
    connection = factories.ConnectionFactory()
    factories.ApiCallFactory(connection=connection, at=days_ago(3))
    call_command("prune_api_calls", "--days", "2", stdout=io.StringIO())
    assert not ApiCall.objects.exists()


def test_rotation_skips_connections_without_credentials():
    factories.ConnectionFactory(credentials={})
    factories.ConnectionFactory(credentials={"access_token": "a"})
    assert maintenance.rotate_encryption_keys() == 1
