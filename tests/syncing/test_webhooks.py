"""Webhooks in, over real HTTP: the emulators sign and POST deliveries to the live site."""

import logging
from decimal import Decimal

import pytest
import requests
from django.urls import reverse
from django_q.models import OrmQ

from connectors.oauth import webhook_key
from connectors.registry import get_provider
from syncing.models import Product, ProductLink, StockLevel, SyncRun, WebhookDelivery
from syncing.services.products import pull_changed_products
from syncing.services.stock import pull_changed_stock
from syncing.services.webhooks import process_webhook
from syncing.tasks import process_webhook_task

MANUAL = SyncRun.Trigger.MANUAL


@pytest.fixture
def site(live_server):
    def url(connection, provider=None, token=None):
        path = reverse(
            "syncing:webhook", args=[provider or connection.provider, token or connection.webhook_token]
        )
        return live_server.url + path

    return url


def connected(start_emulator, connect, clock, provider):
    emulator = start_emulator(provider, clock=clock)
    emulator.seed(products=3, customers=0, locations=1)
    connection = connect(emulator, provider)
    pull_changed_products(connection=connection, trigger=MANUAL)
    emulator.reset_calls()
    return emulator, connection


def first_product(connection):
    product = Product.objects.filter(tenant=connection.tenant).order_by("sku").first()
    return product, product.links.get().remote_id


def run_queued_tasks():
    for task in OrmQ.objects.all():
        assert task.func() == "syncing.tasks.process_webhook_task"
        process_webhook_task(*task.args())


@pytest.fixture
def vend(start_emulator, connect, clock):
    return connected(start_emulator, connect, clock, "vend")


@pytest.fixture
def xero(start_emulator, connect, clock):
    return connected(start_emulator, connect, clock, "xero")


@pytest.fixture
def unleashed(start_emulator, connect, clock):
    return connected(start_emulator, connect, clock, "unleashed")


def contact_update(remote_id="717f2bfc-c6d4-41fd-b238-3f2f0c0cf777"):
    return {"resourceId": remote_id, "eventCategory": "CONTACT", "eventType": "UPDATE"}


def send(emulator, site, connection, kind, payload):
    response = emulator.send_webhook(site(connection), kind, payload)
    assert response.status_code == 200
    return WebhookDelivery.objects.order_by("pk").last()


def test_lightspeed_product_payload_is_stored_without_a_call(vend, site, clock):
    emulator, connection = vend
    product, remote_id = first_product(connection)
    clock.advance(seconds=1)
    emulator.update_product(remote_id, name="Renamed in the shop", price=Decimal("12.50"))

    send(emulator, site, connection, "product.update", emulator.product_webhook_payload(remote_id))
    run_queued_tasks()

    product.refresh_from_db()
    delivery = WebhookDelivery.objects.get()
    assert (product.name, product.sale_price) == ("Renamed in the shop", Decimal("12.50"))
    assert emulator.calls() == 0
    assert delivery.run.trigger == SyncRun.Trigger.WEBHOOK
    assert "1 stored from the payload" in delivery.outcome


def test_lightspeed_product_payload_older_than_what_we_hold_is_skipped(vend, site, clock):
    emulator, connection = vend
    product, remote_id = first_product(connection)
    clock.advance(seconds=1)
    emulator.update_product(remote_id, name="First change")
    late = emulator.product_webhook_payload(remote_id)
    clock.advance(seconds=1)
    emulator.update_product(remote_id, name="Second change")
    send(emulator, site, connection, "product.update", emulator.product_webhook_payload(remote_id))
    run_queued_tasks()

    stale = send(emulator, site, connection, "product.update", late)
    run_queued_tasks()

    product.refresh_from_db()
    stale.refresh_from_db()
    assert product.name == "Second change"
    assert "1 skipped, not newer than what we hold" in stale.outcome
    assert stale.processed_at is not None
    assert emulator.calls() == 0


def test_lightspeed_product_payload_from_the_second_we_hold_is_fetched(vend, site):
    # Timestamps are to the second: a change in the second of the one we hold may be newer or not.
    emulator, connection = vend
    product, remote_id = first_product(connection)
    emulator.update_product(remote_id, name="Renamed in the same second")

    send(emulator, site, connection, "product.update", emulator.product_webhook_payload(remote_id))
    run_queued_tasks()

    product.refresh_from_db()
    assert product.name == "Renamed in the same second"
    assert emulator.calls("GET", f"/products/{remote_id}") == emulator.calls() == 1


def test_lightspeed_product_payload_missing_a_field_we_store_is_fetched(vend, site, clock):
    emulator, connection = vend
    product, remote_id = first_product(connection)
    clock.advance(seconds=1)
    emulator.update_product(remote_id, price=Decimal("99.00"))
    payload = emulator.product_webhook_payload(remote_id)
    del payload["supply_price"]

    delivery = send(emulator, site, connection, "product.update", payload)
    run_queued_tasks()

    product.refresh_from_db()
    delivery.refresh_from_db()
    assert product.sale_price == Decimal("99.00")
    assert emulator.calls() == 1
    assert "1 fetched" in delivery.outcome


def test_lightspeed_deliveries_waiting_together_are_processed_by_one_run(vend, site, clock):
    emulator, connection = vend
    remote_ids = list(ProductLink.objects.filter(connection=connection).values_list("remote_id", flat=True))
    clock.advance(seconds=1)
    for remote_id in remote_ids:
        emulator.update_product(remote_id, name=f"Changed {remote_id}")
        send(emulator, site, connection, "product.update", emulator.product_webhook_payload(remote_id))

    run_queued_tasks()

    names = set(Product.objects.filter(tenant=connection.tenant).values_list("name", flat=True))
    assert names == {f"Changed {remote_id}" for remote_id in remote_ids}
    [run] = SyncRun.objects.filter(trigger=SyncRun.Trigger.WEBHOOK)
    assert set(WebhookDelivery.objects.values_list("run", flat=True)) == {run.pk}
    assert emulator.calls() == 0


def test_lightspeed_deliveries_to_fetch_together_fetch_each_product_once(vend, site, clock):
    emulator, connection = vend
    product, remote_id = first_product(connection)
    for name in ("First change", "Second change"):
        clock.advance(seconds=1)
        emulator.update_product(remote_id, name=name)
        send(emulator, site, connection, "product.update", {"id": remote_id, "name": name})

    run_queued_tasks()

    product.refresh_from_db()
    assert product.name == "Second change"
    assert SyncRun.objects.filter(trigger=SyncRun.Trigger.WEBHOOK).count() == 1
    assert emulator.calls() == 1


def test_lightspeed_newer_of_two_payloads_in_one_run_wins_whatever_their_order(vend, site, clock):
    emulator, connection = vend
    product, remote_id = first_product(connection)
    clock.advance(seconds=1)
    emulator.update_product(remote_id, name="First change")
    first = emulator.product_webhook_payload(remote_id)
    clock.advance(seconds=1)
    emulator.update_product(remote_id, name="Second change")
    send(emulator, site, connection, "product.update", emulator.product_webhook_payload(remote_id))
    late = send(emulator, site, connection, "product.update", first)

    run_queued_tasks()

    product.refresh_from_db()
    late.refresh_from_db()
    assert product.name == "Second change"
    assert "skipped" in late.outcome
    assert emulator.calls() == 0


@pytest.fixture
def vend_stock(vend):
    emulator, connection = vend
    pull_changed_stock(connection=connection, trigger=MANUAL)
    emulator.reset_calls()
    product, remote_id = first_product(connection)
    return emulator, connection, product, remote_id, next(iter(emulator.outlets))


def test_lightspeed_inventory_payload_is_stored_without_a_call(vend_stock, site):
    emulator, connection, product, remote_id, outlet_id = vend_stock
    emulator.set_stock(remote_id, outlet_id, Decimal("7"))

    send(
        emulator,
        site,
        connection,
        "inventory.update",
        emulator.inventory_webhook_payload(remote_id, outlet_id),
    )
    run_queued_tasks()

    assert StockLevel.objects.get(product=product, location__code=outlet_id).quantity == Decimal("7")
    assert emulator.calls() == 0


def test_lightspeed_inventory_payload_older_than_what_we_hold_is_skipped(vend_stock, site):
    emulator, connection, product, remote_id, outlet_id = vend_stock
    emulator.set_stock(remote_id, outlet_id, Decimal("7"))
    late = emulator.inventory_webhook_payload(remote_id, outlet_id)
    emulator.set_stock(remote_id, outlet_id, Decimal("5"))
    send(
        emulator,
        site,
        connection,
        "inventory.update",
        emulator.inventory_webhook_payload(remote_id, outlet_id),
    )
    run_queued_tasks()

    stale = send(emulator, site, connection, "inventory.update", late)
    run_queued_tasks()

    stale.refresh_from_db()
    assert StockLevel.objects.get(product=product, location__code=outlet_id).quantity == Decimal("5")
    assert "1 skipped" in stale.outcome
    assert emulator.calls() == 0


def test_lightspeed_inventory_payload_without_a_version_is_fetched_in_two_calls(vend, site):
    emulator, connection = vend
    product, remote_id = first_product(connection)
    outlet_id = next(iter(emulator.outlets))
    emulator.set_stock(remote_id, outlet_id, Decimal("7"))

    send(
        emulator,
        site,
        connection,
        "inventory.update",
        {"id": "inventory-1", "product_id": remote_id, "outlet_id": outlet_id, "count": "7"},
    )
    run_queued_tasks()

    assert StockLevel.objects.get(product=product, location__code=outlet_id).quantity == Decimal("7")
    # The product is already linked, so only its inventory and the outlet names are read.
    assert emulator.calls() == 2


def test_lightspeed_webhook_signed_with_another_secret_is_refused_and_logged(vend, site, caplog):
    emulator, connection = vend
    _, remote_id = first_product(connection)

    with caplog.at_level(logging.WARNING, logger="syncing.services.webhooks"):
        response = emulator.send_webhook(
            site(connection), "product.update", emulator.product_webhook_payload(remote_id), secret="guess"
        )

    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()
    assert not OrmQ.objects.exists()
    assert "signature does not match" in caplog.text


def test_webhook_without_a_signature_header_is_a_bad_request(vend, site):
    _, connection = vend

    response = requests.post(site(connection), data=b"payload=%7B%7D", timeout=5)

    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_signed_webhook_whose_payload_names_no_record_is_a_bad_request(vend, site):
    emulator, connection = vend

    response = emulator.send_webhook(site(connection), "product.update", {"name": "no id"})

    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_replayed_delivery_is_accepted_but_processed_once(vend, site):
    emulator, connection = vend
    _, remote_id = first_product(connection)
    emulator.update_product(remote_id, name="Changed once")
    payload = emulator.product_webhook_payload(remote_id)

    first = emulator.send_webhook(site(connection), "product.update", payload)
    again = emulator.send_webhook(site(connection), "product.update", payload)
    run_queued_tasks()

    assert (first.status_code, again.status_code) == (200, 200)
    assert WebhookDelivery.objects.count() == 1
    assert emulator.calls() == 1


def test_a_delivery_processed_twice_spends_calls_once(vend, site):
    emulator, connection = vend
    _, remote_id = first_product(connection)
    emulator.send_webhook(site(connection), "product.update", emulator.product_webhook_payload(remote_id))
    delivery = WebhookDelivery.objects.get()

    process_webhook(delivery)
    process_webhook(WebhookDelivery.objects.get())

    assert emulator.calls() == 1
    assert SyncRun.objects.filter(trigger=SyncRun.Trigger.WEBHOOK).count() == 1


def test_lightspeed_event_type_we_do_not_handle_is_acknowledged_and_dropped(vend, site):
    emulator, connection = vend

    response = emulator.send_webhook(
        site(connection), "sale.update", {"id": "s-1", "invoice_number": "1", "register_sale_products": []}
    )

    assert response.status_code == 200
    assert not WebhookDelivery.objects.exists()


def test_unknown_connection_token_is_not_found(vend, site):
    emulator, connection = vend
    _, remote_id = first_product(connection)

    response = emulator.send_webhook(
        site(connection, token="not-a-token"), "product.update", emulator.product_webhook_payload(remote_id)
    )

    assert response.status_code == 404
    assert not WebhookDelivery.objects.exists()


def test_provider_without_webhooks_has_no_webhook_address(vend, site):
    _, connection = vend

    response = requests.post(site(connection, provider="sage"), data=b"{}", timeout=5)

    assert response.status_code == 404


def test_xero_intent_to_receive_gets_200_when_signed_and_401_when_not(xero, site):
    emulator, connection = xero

    good = emulator.send_webhook(site(connection), [], webhook_key(get_provider("xero")))
    bad = emulator.send_webhook(site(connection), [], webhook_key(get_provider("xero")), sign_with="wrong")

    assert (good.status_code, bad.status_code) == (200, 401)
    assert good.content == b""
    assert "Set-Cookie" not in good.headers
    assert not WebhookDelivery.objects.exists()


def test_xero_contact_event_is_stored_and_noted_without_spending_calls(xero, site):
    emulator, connection = xero

    response = emulator.send_webhook(site(connection), [contact_update()], webhook_key(get_provider("xero")))
    run_queued_tasks()

    delivery = WebhookDelivery.objects.get()
    assert (response.status_code, response.content) == (200, b"")
    assert [(e["resource"], e["action"]) for e in delivery.events] == [("customer", "update")]
    assert "1 customer change(s) noted" in delivery.outcome
    assert emulator.calls() == 0


def test_xero_delivery_sent_again_is_kept_once(xero, site):
    emulator, connection = xero

    first = emulator.send_webhook(site(connection), [contact_update()], webhook_key(get_provider("xero")))
    again = emulator.resend_webhook()
    run_queued_tasks()

    assert (first.status_code, again.status_code) == (200, 200)
    assert WebhookDelivery.objects.count() == 1
    assert emulator.calls() == 0


def test_xero_event_for_another_organisation_is_not_kept(xero, site):
    emulator, connection = xero
    event = {**contact_update(), "tenantId": "00000000-0000-0000-0000-000000000000"}

    response = emulator.send_webhook(site(connection), [event], webhook_key(get_provider("xero")))

    assert response.status_code == 200
    assert not WebhookDelivery.objects.exists()


def test_xero_delivery_with_a_wrong_signature_changes_nothing(xero, site):
    emulator, connection = xero

    response = emulator.send_webhook(
        site(connection), [contact_update()], webhook_key(get_provider("xero")), sign_with="forged"
    )

    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_unleashed_product_update_refreshes_that_product_in_one_call(unleashed, site):
    emulator, connection = unleashed
    product, remote_id = first_product(connection)
    emulator.update_product(remote_id, price=Decimal("42.00"))

    response = emulator.send_webhook(
        site(connection), "product.updated", {"Guid": remote_id}, webhook_key(get_provider("unleashed"))
    )
    run_queued_tasks()

    product.refresh_from_db()
    assert response.status_code == 200
    assert product.sale_price == Decimal("42.00")
    assert emulator.calls() == 1


def test_unleashed_product_deleted_remotely_is_deactivated_here(unleashed, site):
    emulator, connection = unleashed
    product, remote_id = first_product(connection)
    emulator.delete_product(remote_id)

    emulator.send_webhook(
        site(connection), "product.deleted", {"Guid": remote_id}, webhook_key(get_provider("unleashed"))
    )
    run_queued_tasks()

    product.refresh_from_db()
    assert product.active is False


def test_unleashed_delivery_older_than_five_minutes_is_refused(unleashed, site, clock):
    emulator, connection = unleashed
    _, remote_id = first_product(connection)
    clock.advance(minutes=-6)

    response = emulator.send_webhook(
        site(connection), "product.updated", {"Guid": remote_id}, webhook_key(get_provider("unleashed"))
    )

    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()
