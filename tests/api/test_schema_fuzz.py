"""Requests generated from the OpenAPI document never make the API fail with a server error."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from syncing.services.api_keys import create_api_key, create_platform_key
from syncsite.wsgi import application
from tests import factories

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
# What the platform's key reaches: creating companies and every company's own paths.
platform_schema = schema.include(tag=["companies", "webhook endpoints"])


@pytest.fixture
def key(tenant, django_settings):
    django_settings.API_RATE_LIMIT_PER_MINUTE = 100_000
    # Keys sent to POST /connections are checked with Unleashed: a closed local port, not the internet.
    django_settings.UNLEASHED_BASE_URL = "http://127.0.0.1:9"
    connection = factories.ConnectionFactory(tenant=tenant)
    factories.ProductLinkFactory(connection=connection)
    factories.SyncRunFactory(connection=connection)
    return create_api_key(tenant=tenant, name="fuzz")[1]


@pytest.fixture
def platform_key(tenant, django_settings):
    django_settings.API_RATE_LIMIT_PER_MINUTE = 100_000
    return create_platform_key(name="fuzz")[1]


@pytest.fixture
def django_settings(settings):
    return settings


@pytest.fixture(autouse=True)
def keep_the_test_database_open():
    """The WSGI handler closes the connection around each request; the test's transaction lives
    on it (Django's test client disconnects the same receivers)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.mark.fuzz
@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_is_a_server_error(case, key):
    response = case.call(headers={"Authorization": f"Bearer {key}"})

    case.validate_response(response, checks=[not_a_server_error])


@pytest.mark.fuzz
@platform_schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_with_the_platforms_key_is_a_server_error(case, platform_key):
    response = case.call(headers={"Authorization": f"Bearer {platform_key}"})

    case.validate_response(response, checks=[not_a_server_error])
