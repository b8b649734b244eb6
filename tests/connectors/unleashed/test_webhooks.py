"""Unleashed webhook deliveries: signed by the emulator, verified and parsed by the package."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.emulation import Emulator, Response, route, serve
from connectors.records import WebhookEvent
from connectors.unleashed import webhooks
from connectors.unleashed.emulator import UnleashedEmulator

SAMPLES = Path(webhooks.__file__).with_name("samples")
KEY = "signing-key-returned-once"


class Receiver(Emulator):
    def __init__(self):
        super().__init__()
        self.deliveries = []

    @route("POST", "/hooks/unleashed")
    def receive(self, request):
        self.deliveries.append((request.headers, request.body))
        return Response(200)


@pytest.fixture
def receiver():
    app = Receiver()
    server = serve(app)
    yield app
    server.stop()


@pytest.fixture
def delivery(receiver):
    sender = UnleashedEmulator()
    sender.send_webhook(f"{receiver.public_url}/hooks/unleashed", "product.updated", {"Guid": "g-1"}, KEY)
    [(headers, body)] = receiver.deliveries
    return headers, body


def test_delivery_signed_by_unleashed_is_accepted(delivery):
    headers, body = delivery
    assert webhooks.verify(headers, body, KEY)


def test_delivery_with_a_changed_body_is_refused(delivery):
    headers, body = delivery
    assert not webhooks.verify(headers, body.replace(b"g-1", b"g-2"), KEY)


def test_delivery_checked_with_another_key_is_refused(delivery):
    headers, body = delivery
    assert not webhooks.verify(headers, body, "another-key")


def test_delivery_without_a_signature_is_refused(delivery):
    headers, body = delivery
    unsigned = {k: v for k, v in headers.items() if k != "x-unleashed-signature"}
    assert not webhooks.verify(unsigned, body, KEY)


def test_delivery_older_than_five_minutes_is_refused(delivery):
    headers, body = delivery
    later = datetime.fromtimestamp(int(headers["x-unleashed-timestamp"]), UTC) + timedelta(
        minutes=5, seconds=1
    )
    assert not webhooks.verify(headers, body, KEY, now=later)
    assert webhooks.verify(headers, body, KEY, now=later - timedelta(seconds=2))


def test_product_event_becomes_a_webhook_event():
    body = (SAMPLES / "webhook_product_updated.json").read_bytes()
    assert webhooks.parse(body) == [
        WebhookEvent(
            resource="product",
            remote_id="3f0b1c2d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            action="updated",
            event_id="0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f",
            occurred_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        )
    ]


def test_customer_deleted_event_names_the_customer():
    body = json.dumps({"eventType": "customer.deleted", "data": {"Guid": "c-9"}}).encode()
    [event] = webhooks.parse(body)
    assert (event.resource, event.remote_id, event.action) == ("customer", "c-9", "deleted")


def test_unknown_event_type_is_ignored():
    assert webhooks.parse((SAMPLES / "webhook_sales_order_created.json").read_bytes()) == []
