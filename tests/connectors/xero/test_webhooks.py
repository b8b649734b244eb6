"""Xero webhook deliveries, signed by the emulator's own code and checked by connectors.xero.webhooks
in a receiver served over loopback HTTP (the Sentry webhook test set)."""

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
import requests

from connectors.emulation import Response, serve
from connectors.errors import ProviderBug
from connectors.xero import webhooks
from connectors.xero.emulator import XeroEmulator

KEY = "test-webhook-key"
SAMPLES = Path(__file__).resolve().parents[3] / "connectors" / "xero" / "samples"


class Receiver:
    """The smallest honest receiver: 400 unsigned, 401 wrongly signed, 200 and no body otherwise."""

    def __init__(self):
        self.events = []

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if "x-xero-signature" not in headers:
            response = Response(400)
        elif not webhooks.verify(headers, body, KEY):
            response = Response(401)
        else:
            self.events.extend(webhooks.parse(body, environ.get("CONTENT_TYPE", "")))
            response = Response(200)
        start_response(f"{response.status} -", list(response.headers.items()))
        return [response.body]


@pytest.fixture
def receiver():
    app = Receiver()
    server = serve(app)
    yield app
    server.stop()


@pytest.fixture
def xero():
    return XeroEmulator()


def contact_update(resource_id="717f2bfc-c6d4-41fd-b238-3f2f0c0cf777"):
    return {"resourceId": resource_id, "eventCategory": "CONTACT", "eventType": "UPDATE"}


def test_valid_delivery_is_accepted_and_its_events_parsed(receiver, xero):
    response = xero.send_webhook(receiver.public_url, [contact_update()], KEY)
    assert response.status_code == 200
    assert response.content == b""
    [event] = receiver.events
    assert (event.resource, event.remote_id, event.action) == (
        "customer",
        "717f2bfc-c6d4-41fd-b238-3f2f0c0cf777",
        "update",
    )
    assert event.tenant_id == xero.org.tenant_id


def test_delivery_signed_with_another_key_is_refused(receiver, xero):
    response = xero.send_webhook(receiver.public_url, [contact_update()], KEY, sign_with="someone-else")
    assert response.status_code == 401
    assert receiver.events == []


def test_delivery_without_a_signature_is_a_bad_request(receiver):
    body = json.dumps({"events": [contact_update()]}).encode()
    response = requests.post(receiver.public_url, data=body, timeout=5)
    assert response.status_code == 400


def test_intent_to_receive_gets_200_for_good_and_401_for_bad_signatures(receiver, xero):
    assert xero.send_intent_to_receive(receiver.public_url, KEY) == (200, 401)
    assert receiver.events == []


def test_signature_is_checked_over_the_raw_bytes_not_reparsed_json():
    raw = b'{"events": [],  "entropy":"x"}'
    header = base64.b64encode(hmac.new(KEY.encode(), raw, hashlib.sha256).digest()).decode()
    assert webhooks.verify({"X-Xero-Signature": header}, raw, KEY)
    assert not webhooks.verify({"X-Xero-Signature": header}, json.dumps(json.loads(raw)).encode(), KEY)


def test_sample_delivery_gives_contact_and_invoice_events_and_ignores_credit_notes():
    events = webhooks.parse((SAMPLES / "webhook_contact_update.json").read_bytes(), "application/json")
    assert [(e.resource, e.action) for e in events] == [("customer", "update"), ("invoice", "create")]


def test_body_that_is_not_json_is_a_provider_bug():
    with pytest.raises(ProviderBug):
        webhooks.parse(b"<html>", "text/html")
