"""Lightspeed webhooks: the emulator signs and sends them, webhooks.py verifies and reads them."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.emulation import Emulator, Response, route, serve
from connectors.emulation.oauth import EMULATOR_CLIENT_SECRET
from connectors.errors import ProviderBug
from connectors.records import RemoteStock
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


def test_product_update_carries_the_product_as_a_record(delivered):
    _, body = delivered("product.update", sample("webhook_product_update.json"))
    [event] = webhooks.parse(body)
    record = event.record
    assert (record.remote_id, record.code, record.name) == (
        "0adfd74a-153e-11e9-fa42-67b5781ba1fb",
        "SKU-10001",
        "Ceramic Pour-Over Cup",
    )
    assert (record.sale_price, record.purchase_price) == (Decimal("24.95"), Decimal("11.20"))
    assert (record.tax_code, record.active, record.deleted) == (
        "0adaafb3-6583-11e5-fb60-c34e1b1b3f11",
        True,
        False,
    )
    assert record.updated_at == datetime(2026, 11, 2, 14, 3, 27, tzinfo=UTC)


def test_deleted_product_is_a_deleted_record(delivered):
    _, body = delivered(
        "product.update", {**sample("webhook_product_update.json"), "deleted_at": "2026-11-03 09:00:00"}
    )
    [event] = webhooks.parse(body)
    assert (event.record.deleted, event.record.active) == (True, False)


@pytest.mark.parametrize("field", ["supply_price", "updated_at", "deleted_at"])
def test_product_payload_without_a_field_we_store_names_the_product_only(delivered, field):
    payload = sample("webhook_product_update.json")
    del payload[field]
    _, body = delivered("product.update", payload)
    [event] = webhooks.parse(body)
    assert (event.remote_id, event.record) == ("0adfd74a-153e-11e9-fa42-67b5781ba1fb", None)


def test_product_payload_with_an_unreadable_price_names_the_product_only(delivered):
    _, body = delivered("product.update", {**sample("webhook_product_update.json"), "price": "n/a"})
    [event] = webhooks.parse(body)
    assert event.record is None


def test_inventory_update_carries_the_level_and_its_version(delivered):
    _, body = delivered("inventory.update", sample("webhook_inventory_update.json"))
    [event] = webhooks.parse(body)
    assert event.record == RemoteStock(
        product_remote_id="0adfd74a-153e-11e9-fa42-67b5781ba1fb",
        location_remote_id="0adaafb3-6583-11e5-fb60-c34e1a6a4d7c",
        quantity=Decimal("13"),
        version="7321201",
    )


def test_inventory_update_without_a_version_names_the_product_only(delivered):
    payload = sample("webhook_inventory_update.json")
    del payload["version"]
    _, body = delivered("inventory.update", payload)
    [event] = webhooks.parse(body)
    assert (event.remote_id, event.record) == ("0adfd74a-153e-11e9-fa42-67b5781ba1fb", None)


def test_emulated_inventory_change_is_delivered_with_its_version(start_emulator, receiver):
    store = start_emulator("vend")
    store.seed(products=1)
    product_id = store.products()[0]["remote_id"]
    outlet_id = next(iter(store.outlets))
    store.set_stock(product_id, outlet_id, Decimal("4"))
    store.send_webhook(
        f"{receiver.public_url}/hooks",
        "inventory.update",
        store.inventory_webhook_payload(product_id, outlet_id),
    )
    [event] = webhooks.parse(receiver.received[-1].body)
    assert (event.record.quantity, event.record.version) == (
        Decimal("4"),
        str(store.inventory[(product_id, outlet_id)]["version"]),
    )
