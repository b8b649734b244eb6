"""Webhooks out: deliveries recorded with the caller's work, signed, retried for a day, replayable.

Deliveries go to a real HTTP receiver on loopback that answers with the statuses a test queues.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from syncing.models import EventDelivery, SyncRun
from syncing.services import connections, outbound, runs
from tests import factories


class Receiver:
    """A platform's webhook receiver: keeps every request, answers with queued statuses (then 200)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                reply = b"ok" if status < 300 else b"receiver is broken"
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    # The receiver is on loopback, which production refuses to call (see the last test).
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def endpoint(tenant, receiver):
    endpoint, secret = outbound.create_endpoint(
        tenant=tenant, url=receiver.url, event_types=["sync.completed", "sync.failed"]
    )
    endpoint.plain_secret = secret
    return endpoint


def emit_one(tenant) -> EventDelivery:
    (delivery,) = outbound.emit_event(tenant, "sync.completed", {"run": 7})
    return delivery


def test_an_event_reaches_only_the_active_endpoints_subscribed_to_it(tenant, charlie, endpoint):
    outbound.create_endpoint(tenant=tenant, url="http://127.0.0.1:9/other", event_types=["outbox.posted"])
    outbound.create_endpoint(
        tenant=tenant, url="http://127.0.0.1:9/off", event_types=["sync.completed"], active=False
    )
    outbound.create_endpoint(
        tenant=charlie.memberships.get().tenant, url="http://127.0.0.1:9/x", event_types=["sync.completed"]
    )

    deliveries = outbound.emit_event(tenant, "sync.completed", {"run": 7})

    assert [d.endpoint_id for d in deliveries] == [endpoint.pk]


def test_the_send_is_queued_only_when_the_callers_transaction_commits(
    tenant, endpoint, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        emit_one(tenant)
        assert callbacks == []

    assert len(callbacks) == 1


def test_the_secret_is_stored_encrypted(tenant, endpoint):
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute("SELECT signing FROM syncing_webhookendpoint WHERE id = %s", [endpoint.pk])
        stored = cursor.fetchone()[0]

    assert endpoint.plain_secret not in stored
    assert endpoint.secret == endpoint.plain_secret


def test_a_delivery_is_signed_over_timestamp_and_body_with_the_endpoints_secret(tenant, endpoint, receiver):
    delivery = outbound.deliver(emit_one(tenant))

    (request,) = receiver.requests
    headers, body = request["headers"], request["body"]
    timestamp = headers["Synchub-Timestamp"]
    expected = hmac.new(endpoint.plain_secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(headers["Synchub-Signature"], "v1=" + expected.hexdigest())
    assert abs(int(timestamp) - time.time()) < outbound.SIGNATURE_TOLERANCE.total_seconds()
    payload = json.loads(body)
    assert (payload["type"], payload["company"], payload["data"]) == ("sync.completed", tenant.pk, {"run": 7})
    assert headers["Synchub-Event-Id"] == payload["id"] == delivery.event_id
    assert delivery.state == EventDelivery.State.DELIVERED


def test_a_signature_made_with_another_secret_does_not_verify(tenant, endpoint, receiver):
    outbound.deliver(emit_one(tenant))

    (request,) = receiver.requests
    timestamp = request["headers"]["Synchub-Timestamp"]
    assert (
        outbound.sign("whsec_wrong", int(timestamp), request["body"])
        != request["headers"]["Synchub-Signature"]
    )


def test_every_attempt_is_recorded_with_status_excerpt_and_duration(tenant, endpoint, receiver):
    receiver.statuses = [500]

    delivery = outbound.deliver(emit_one(tenant))

    (attempt,) = delivery.attempts.all()
    assert (attempt.status_code, attempt.response_excerpt) == (500, "receiver is broken")
    assert attempt.duration_ms >= 0 and attempt.error == ""


def test_a_failed_delivery_is_retried_after_a_500_and_then_delivered(tenant, endpoint, receiver):
    receiver.statuses = [500]
    delivery = outbound.deliver(emit_one(tenant))
    assert delivery.state == EventDelivery.State.PENDING
    assert delivery.next_attempt_at - timezone.now() <= outbound.RETRY_DELAYS[0]

    assert outbound.queue_due_deliveries(now=timezone.now()) == 0
    assert outbound.queue_due_deliveries(now=delivery.next_attempt_at) == 1
    delivery = outbound.deliver(EventDelivery.objects.get(pk=delivery.pk))

    assert delivery.state == EventDelivery.State.DELIVERED
    assert [a.status_code for a in delivery.attempts.order_by("pk")] == [500, 200]
    first, second = receiver.requests
    assert json.loads(first["body"]) == json.loads(second["body"])


def test_a_due_retry_is_queued_once_by_two_schedulers(tenant, endpoint, receiver):
    receiver.statuses = [500]
    delivery = outbound.deliver(emit_one(tenant))

    first = outbound.queue_due_deliveries(now=delivery.next_attempt_at)
    second = outbound.queue_due_deliveries(now=delivery.next_attempt_at)

    assert (first, second) == (1, 0)


def test_an_unreachable_endpoint_counts_as_a_failed_attempt(tenant, receiver):
    receiver.stop()
    outbound.create_endpoint(tenant=tenant, url=receiver.url, event_types=["sync.completed"])

    delivery = outbound.deliver(emit_one(tenant))

    (attempt,) = delivery.attempts.all()
    assert attempt.status_code is None and "ConnectionError" in attempt.error
    assert delivery.state == EventDelivery.State.PENDING


def test_a_delivery_failing_for_a_day_is_given_up(tenant, endpoint, receiver):
    receiver.statuses = [500] * 20
    delivery = emit_one(tenant)
    moment = delivery.created_at
    while delivery.state == EventDelivery.State.PENDING:
        delivery = outbound.deliver(delivery, now=moment)
        moment = delivery.next_attempt_at or moment

    assert delivery.state == EventDelivery.State.GIVEN_UP
    assert moment == delivery.created_at + outbound.RETRY_WINDOW
    assert delivery.attempts.count() == len(receiver.requests) < 20


def test_a_replayed_delivery_sends_the_same_event_again(tenant, endpoint, receiver):
    delivery = outbound.deliver(emit_one(tenant))

    delivery = outbound.deliver(outbound.replay(delivery))

    assert delivery.state == EventDelivery.State.DELIVERED and delivery.attempts.count() == 2
    first, second = receiver.requests
    assert first["headers"]["Synchub-Event-Id"] == second["headers"]["Synchub-Event-Id"]


def test_a_finished_run_announces_sync_completed(tenant, endpoint):
    run = factories.SyncRunFactory(connection__tenant=tenant, status=SyncRun.Status.RUNNING, fetched=3)

    runs.finish(run)

    (delivery,) = EventDelivery.objects.all()
    assert delivery.event_type == "sync.completed"
    assert (delivery.payload["data"]["run"], delivery.payload["data"]["fetched"]) == (run.pk, 3)


def test_a_failed_run_announces_sync_failed_with_its_reason(tenant, endpoint):
    run = factories.SyncRunFactory(connection__tenant=tenant, status=SyncRun.Status.RUNNING)

    runs.fail(run, reason="Xero could not be reached.")

    (delivery,) = EventDelivery.objects.all()
    assert delivery.event_type == "sync.failed"
    assert delivery.payload["data"]["error_summary"] == "Xero could not be reached."


def test_a_connection_needing_reauthorisation_is_announced_once(tenant):
    outbound.create_endpoint(
        tenant=tenant, url="http://127.0.0.1:9/", event_types=["connection.needs_reauth"]
    )
    connection = factories.ConnectionFactory(tenant=tenant, status="active")

    connections.mark_needs_reauth(connection, reason="Refresh refused.")
    connections.mark_needs_reauth(connection, reason="Refresh refused.")

    (delivery,) = EventDelivery.objects.all()
    assert delivery.payload["data"]["status"] == "needs_reauth"
    assert delivery.payload["data"]["connection"] == connection.pk


def test_a_disconnected_connection_is_announced(tenant):
    outbound.create_endpoint(
        tenant=tenant, url="http://127.0.0.1:9/", event_types=["connection.disconnected"]
    )
    connection = factories.ConnectionFactory(tenant=tenant, status="active")

    connections.disconnect(connection)

    (delivery,) = EventDelivery.objects.all()
    assert delivery.event_type == "connection.disconnected"
    assert delivery.payload["data"]["connection"] == connection.pk


def test_the_delivery_task_sends_and_summarises(tenant, endpoint, receiver):
    from syncing.tasks import deliver_event_task

    summary = deliver_event_task(emit_one(tenant).pk)

    assert summary["state"] == "delivered" and summary["attempts"] == 1


def test_an_endpoint_on_our_own_network_is_not_called(tenant, endpoint, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False

    delivery = outbound.deliver(emit_one(tenant))

    (attempt,) = delivery.attempts.all()
    assert attempt.error == "Refused: 127.0.0.1 resolves to a non-public address (127.0.0.1)."
    assert receiver.requests == []
    assert delivery.state == EventDelivery.State.PENDING
