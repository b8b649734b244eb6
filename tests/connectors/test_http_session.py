from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.errors import (
    AuthorizationRevoked,
    NotFound,
    ProviderBug,
    RateLimited,
    TransientError,
    ValidationFailed,
)
from connectors.http import ProviderSession
from syncing.models import ApiCall, ApiUsage, Connection
from tests import factories
from tests.concurrency import race
from tests.connectors.tiny_provider import TinyConnector, start_tiny, tiny_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny():
    app, server = start_tiny()
    yield app
    server.stop()


class Sleeps(list):
    """Records the waits asked for instead of waiting."""

    def __call__(self, seconds):
        self.append(seconds)


def connector(connection, run=None, sleep=None) -> TinyConnector:
    return ProviderSession(
        connection, run=run, connector_class=TinyConnector, sleep=sleep if sleep is not None else Sleeps()
    ).connector


def test_503_then_success_is_retried(tiny):
    tiny.fail_next(503)
    assert connector(tiny_connection(tiny)).things() == []
    assert tiny.calls("GET", "/Things") == 2


def test_persistent_5xx_gives_up_as_transient_after_four_attempts(tiny):
    tiny.fail_next(502, times=10)
    with pytest.raises(TransientError):
        connector(tiny_connection(tiny)).things()
    assert tiny.calls("GET", "/Things") == 4


def test_write_is_not_retried_after_a_server_error(tiny):
    tiny.fail_next(503)
    with pytest.raises(TransientError):
        connector(tiny_connection(tiny)).create_thing("Widget")
    assert tiny.calls("POST", "/Things") == 1


def test_idempotent_write_is_retried(tiny):
    tiny.fail_next(503)
    connector(tiny_connection(tiny)).create_thing("Widget", idempotent=True)
    assert tiny.calls("POST", "/Things") == 2
    assert len(tiny.things) == 1


def test_lost_response_to_a_write_is_not_sent_again(tiny):
    tiny.lose_next_response()
    with pytest.raises(TransientError):
        connector(tiny_connection(tiny)).create_thing("Widget")
    assert tiny.calls("POST", "/Things") == 1


def test_short_retry_after_is_waited_out_and_retried(tiny):
    tiny.rate_limit_next(retry_after=2)
    sleeps = Sleeps()
    assert connector(tiny_connection(tiny), sleep=sleeps).things() == []
    assert tiny.calls("GET", "/Things") == 2
    assert 1 <= max(sleeps) <= 2


def test_long_retry_after_raises_rate_limited_with_the_time_to_resume(tiny):
    tiny.rate_limit_next(retry_after=120)
    with pytest.raises(RateLimited) as raised:
        connector(tiny_connection(tiny)).things()
    assert raised.value.retry_at > timezone.now() + timedelta(seconds=100)
    assert tiny.calls("GET", "/Things") == 1


def test_a_write_refused_with_429_at_its_only_send_wrote_nothing(tiny):
    tiny.rate_limit_next(retry_after=120)
    with pytest.raises(RateLimited) as raised:
        connector(tiny_connection(tiny)).create_thing("Widget", idempotent=True)
    assert raised.value.may_have_written is False


def test_a_429_after_a_lost_send_of_the_same_write_says_it_may_have_written(tiny):
    tiny.lose_next_response()
    tiny.rate_limit_next(retry_after=120)
    with pytest.raises(RateLimited) as raised:
        connector(tiny_connection(tiny)).create_thing("Widget", idempotent=True)
    assert raised.value.may_have_written is True
    assert len(tiny.things) == 1


def test_401_refreshes_the_token_and_retries(tiny):
    connection = tiny_connection(tiny)
    old_token = connection.credentials["access_token"]
    tiny.oauth.expire_access_tokens()
    assert connector(connection).things() == []
    connection.refresh_from_db()
    assert connection.credentials["access_token"] != old_token
    assert tiny.calls("POST", "/connect/token") == 1
    assert tiny.calls("GET", "/Things") == 2


def test_token_near_expiry_is_refreshed_before_the_call(tiny):
    connection = tiny_connection(tiny, token_expires_at=timezone.now() + timedelta(seconds=30))
    connector(connection).things()
    assert tiny.calls("POST", "/connect/token") == 1
    assert tiny.calls("GET", "/Things") == 1


def test_refused_refresh_marks_the_connection_and_does_not_loop(tiny):
    connection = tiny_connection(tiny)
    tiny.oauth.revoke_refresh_tokens()
    with pytest.raises(AuthorizationRevoked):
        connector(connection).things()
    with pytest.raises(AuthorizationRevoked):
        connector(connection).things()
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert tiny.calls("POST", "/connect/token") == 1
    assert tiny.calls("GET", "/Things") == 1


def test_validation_error_carries_the_providers_messages(tiny):
    with pytest.raises(ValidationFailed) as raised:
        connector(tiny_connection(tiny)).create_thing("")
    assert raised.value.messages == ["Name is required"]


def test_missing_resource_is_not_found(tiny):
    with pytest.raises(NotFound):
        connector(tiny_connection(tiny)).session.get_json("Nothing")


def test_allowed_status_is_returned_instead_of_raised(tiny):
    response = connector(tiny_connection(tiny)).session.request("GET", "Nothing", allow_statuses=(404,))
    assert response.status_code == 404


def test_malformed_json_is_a_provider_bug(tiny):
    tiny.malform_next()
    with pytest.raises(ProviderBug):
        connector(tiny_connection(tiny)).things()


def test_html_answer_is_a_provider_bug(tiny):
    with pytest.raises(ProviderBug, match="not JSON"):
        connector(tiny_connection(tiny)).session.get_json("Plain")


def test_every_attempt_is_logged_and_counted(tiny):
    connection = tiny_connection(tiny)
    run = factories.SyncRunFactory(connection=connection)
    tiny.fail_next(503)
    connector(connection, run=run).things()
    calls = list(ApiCall.objects.filter(connection=connection).order_by("attempt"))
    assert [(c.method, c.path, c.status, c.attempt, c.run_id) for c in calls] == [
        ("GET", "/api.xro/2.0/Things", 503, 1, run.pk),
        ("GET", "/api.xro/2.0/Things", 200, 2, run.pk),
    ]
    usage = ApiUsage.objects.get(connection=connection)
    assert (usage.calls, usage.errors) == (2, 1)
    run.refresh_from_db()
    assert run.api_calls == 2


def test_secret_query_parameters_are_masked_in_the_log(tiny):
    connector(tiny_connection(tiny)).session.get_json("Things", params={"api_key": "s3cret", "page": 2})
    assert ApiCall.objects.get().path == "/api.xro/2.0/Things?api_key=%2A%2A%2A&page=2"


def test_rate_limit_headers_are_logged_and_lower_the_budget(tiny):
    tiny.minute_remaining = 7
    connection = tiny_connection(tiny)
    connector(connection).things()
    assert ApiCall.objects.get().rate_limit_headers == {"X-MinLimit-Remaining": "7"}
    assert connection.budget.get(kind="minute").used == 53


def test_disconnected_connection_sends_nothing(tiny):
    connection = tiny_connection(tiny, status=Connection.Status.NEEDS_REAUTH)
    with pytest.raises(AuthorizationRevoked):
        connector(connection).things()
    assert tiny.calls() == 0


@pytest.mark.django_db(transaction=True)
def test_two_threads_refreshing_at_once_make_one_token_call_and_share_the_token(tiny):
    connection = tiny_connection(tiny)
    tiny.oauth.expire_access_tokens()
    tiny.delay_next(0.5, match="/connect/token")

    def work(_):
        mine = Connection.objects.get(pk=connection.pk)
        ProviderSession(mine, connector_class=TinyConnector).connector.things()
        return mine.credentials["access_token"]

    tokens, errors = race(work)

    assert errors == []
    assert tiny.calls("POST", "/connect/token") == 1
    assert len(set(tokens)) == 1 and len(tokens) == 2
