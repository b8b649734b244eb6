"""Lightspeed webhooks: the emulator signs and sends them, webhooks.py verifies and reads them."""

import json
from pathlib import Path

import pytest

from connectors.emulation import Emulator, Response, route, serve
from connectors.emulation.oauth import EMULATOR_CLIENT_SECRET
from connectors.errors import ProviderBug
from connectors.vend import webhooks

SAMPLES = Path(webhooks.__file__).with_name("samples")


class Receiver(Emulator):
    """A loopback endpoint that keeps what it was sent, raw."""

    def __init__(self):
        super().__init__()
        self.received = []

    @route("POST", "/hooks")
    def hook(self, request):
        self.received.append(request)
        return Response(204)


@pytest.fixture
def receiver():
    app = Receiver()
    server = serve(app)
    yield app
    server.stop()


@pytest.fixture
def delivered(start_emulator, receiver):
    """`delivered(type, payload)` -> (headers, raw body) of one delivery from the emulator."""
    store = start_emulator("vend")

    def send(kind: str, payload: dict):
        store.send_webhook(f"{receiver.public_url}/hooks", kind, payload, EMULATOR_CLIENT_SECRET)
        request = receiver.received[-1]
        return request.headers, request.body

    return send


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def test_valid_signature_is_accepted(delivered):
    headers, body = delivered("product.update", sample("webhook_product_update.json"))
    assert headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert webhooks.verify(headers, body, EMULATOR_CLIENT_SECRET)


def test_signature_made_with_another_secret_is_refused(delivered):
    headers, body = delivered("product.update", sample("webhook_product_update.json"))
    assert not webhooks.verify(headers, body, "another-apps-secret")


def test_changed_body_is_refused(delivered):
    headers, body = delivered("product.update", sample("webhook_product_update.json"))
    assert not webhooks.verify(headers, body.replace(b"24.95", b"0.01"), EMULATOR_CLIENT_SECRET)


def test_missing_signature_is_refused(delivered):
    headers, body = delivered("product.update", sample("webhook_product_update.json"))
    del headers["x-signature"]
    assert webhooks.signature_parts(headers) == {}
    assert not webhooks.verify(headers, body, EMULATOR_CLIENT_SECRET)


def test_other_algorithm_is_refused(delivered):
    headers, body = delivered("product.update", sample("webhook_product_update.json"))
    headers["x-signature"] = headers["x-signature"].replace("HMAC-SHA256", "HMAC-SHA1")
    assert not webhooks.verify(headers, body, EMULATOR_CLIENT_SECRET)


def test_product_update_names_the_product(delivered):
    _, body = delivered("product.update", sample("webhook_product_update.json"))
    [event] = webhooks.parse(body, "application/x-www-form-urlencoded")
    assert (event.resource, event.remote_id, event.action) == (
        "product",
        "0adfd74a-153e-11e9-fa42-67b5781ba1fb",
        "update",
    )
    assert event.tenant_id == "emulatedstore"


def test_inventory_update_names_the_product_whose_stock_changed(delivered):
    _, body = delivered("inventory.update", sample("webhook_inventory_update.json"))
    [event] = webhooks.parse(body)
    assert (event.resource, event.remote_id) == ("stock", "0adfd74a-153e-11e9-fa42-67b5781ba1fb")


def test_unhandled_type_is_ignored(delivered):
    _, body = delivered("register_closure.create", {"id": "closure-1"})
    assert webhooks.parse(body) == []


def test_delivery_without_a_type_field_is_read_from_the_payload_shape():
    body = b"payload=" + json.dumps({"id": "c-1", "customer_code": "HARB-0042"}).encode()
    [event] = webhooks.parse(body)
    assert (event.resource, event.remote_id) == ("customer", "c-1")


def test_payload_that_is_not_json_is_a_provider_bug():
    with pytest.raises(ProviderBug, match="payload is not JSON"):
        webhooks.parse(b"type=product.update&payload=%7Bbroken")


def test_emulated_product_change_is_delivered_for_that_product(start_emulator, receiver):
    store = start_emulator("vend")
    store.seed(products=2)
    product_id = store.products()[1]["remote_id"]
    store.send_webhook(
        f"{receiver.public_url}/hooks", "product.update", store.product_webhook_payload(product_id)
    )
    request = receiver.received[-1]
    assert webhooks.verify(request.headers, request.body, EMULATOR_CLIENT_SECRET)
    assert [e.remote_id for e in webhooks.parse(request.body)] == [product_id]
