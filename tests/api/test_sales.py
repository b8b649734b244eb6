"""POST /sales records a sale for posting; GET /sales/{id} shows where posting got to."""

import pytest
from django.test import Client

from invoices.models import OutboxEntry, Sale
from tests import factories


@pytest.fixture
def connection(tenant):
    return factories.ConnectionFactory(tenant=tenant, provider="xero")


@pytest.fixture
def mug(tenant):
    return factories.ProductFactory(tenant=tenant, sku="MUG-1", name="Blue mug")


def sale(number="S-1001", **fields):
    return {"number": number, "lines": [{"sku": "MUG-1", "quantity": "2", "unit_price": "6.00"}], **fields}


def post(api, body):
    return api.post("/api/v1/sales", body, content_type="application/json")


def test_a_sale_is_recorded_and_queued_for_each_invoicing_connection(api, connection, mug):
    response = post(api, sale(paid=True))

    body = response.json()
    assert response.status_code == 201
    assert (body["number"], body["total"], body["paid"]) == ("S-1001", "12.00", True)
    assert body["lines"][0]["sku"] == "MUG-1"
    assert body["postings"][0]["connection"] == connection.pk
    assert OutboxEntry.objects.get(kind=OutboxEntry.Kind.INVOICE).sale.number == "S-1001"


def test_a_sale_shows_each_connections_posting_state(api, connection, mug):
    created = post(api, sale()).json()
    OutboxEntry.objects.update(state=OutboxEntry.State.POSTED, remote_id="INV-9", remote_number="INV-0009")

    body = api.get(f"/api/v1/sales/{created['id']}").json()

    assert [(p["connection"], p["state"], p["remote_number"]) for p in body["postings"]] == [
        (connection.pk, "posted", "INV-0009")
    ]


def test_a_refund_names_the_sale_it_refunds_and_posts_as_a_credit_note(api, connection, mug):
    post(api, sale("S-1001"))

    response = post(api, sale("R-1", refund_of="S-1001", paid=True, payment_method="card"))

    body = response.json()
    assert response.status_code == 201
    assert (body["refund_of"], body["paid"], body["payment_method"]) == ("S-1001", True, "card")
    assert [p["kind"] for p in body["postings"]] == ["credit_note", "payment"]
    assert Sale.objects.get(number="R-1").refund_of == Sale.objects.get(number="S-1001")


def test_a_refund_of_an_unknown_sale_names_the_field(api, connection, mug):
    response = post(api, sale("R-1", refund_of="S-404"))

    assert response.status_code == 422
    assert response.json()["details"] == [
        {"field": "refund_of", "message": "No sale S-404 to refund; name a sale already recorded."}
    ]
    assert not Sale.objects.exists()


def test_another_tenants_sale_cannot_be_refunded_here(api, charlie, connection, mug):
    factories.SaleFactory(tenant=charlie.memberships.get().tenant, number="S-1001")

    response = post(api, sale("R-1", refund_of="S-1001"))

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "refund_of"


def test_a_sale_number_already_recorded_conflicts(api, connection, mug):
    post(api, sale())

    response = post(api, sale())

    assert response.status_code == 409
    assert response.json()["details"] == [{"field": "number", "message": "Sale S-1001 already exists."}]
    assert Sale.objects.count() == 1


def test_an_unknown_sku_is_named_by_line(api, connection, mug):
    body = sale()
    body["lines"].append({"sku": "NOPE", "quantity": "1", "unit_price": "1.00"})

    response = post(api, body)

    assert response.status_code == 422
    assert response.json()["details"] == [{"field": "lines.1.sku", "message": "No product with SKU NOPE."}]
    assert not Sale.objects.exists()


def test_another_tenants_sku_is_unknown_here(api, charlie, connection):
    factories.ProductFactory(tenant=charlie.memberships.get().tenant, sku="MUG-1")

    assert post(api, sale()).status_code == 422


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "MUG-1", "quantity": "0", "unit_price": "1"}]}, "lines.0.quantity"),
        ({"lines": [{"sku": "MUG-1", "quantity": "1"}]}, "lines.0.unit_price"),
        ({"number": ""}, "number"),
        ({"sold_at": "yesterday"}, "sold_at"),
        ({"refund_of": ""}, "refund_of"),
        ({"paid": "perhaps"}, "paid"),
        ({"payment_method": "x" * 31}, "payment_method"),
    ],
)
def test_an_invalid_sale_names_the_field(api, mug, change, field):
    response = post(api, sale(**change))

    assert response.status_code == 422
    assert field in [detail["field"] for detail in response.json()["details"]]
    assert not Sale.objects.exists()


def test_a_customer_of_another_tenant_is_refused(api, charlie, mug):
    stranger = factories.CustomerFactory(tenant=charlie.memberships.get().tenant)

    response = post(api, sale(customer_id=stranger.pk))

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "customer_id"


def test_a_malformed_json_body_is_a_bad_request(api):
    response = api.post("/api/v1/sales", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["status"] == 400


def test_another_tenants_sale_is_not_found(api, charlie):
    theirs = factories.SaleFactory(tenant=charlie.memberships.get().tenant)

    assert api.get(f"/api/v1/sales/{theirs.pk}").status_code == 404


def test_sales_need_a_key(anonymous, mug):
    assert post(anonymous, sale()).status_code == 401
    assert not Sale.objects.exists()


def test_a_wrong_key_records_nothing(mug):
    wrong = Client(headers={"Authorization": "Bearer not-a-real-key"})

    response = post(wrong, sale())

    assert response.status_code == 401
    assert response.json()["status"] == 401
    assert not Sale.objects.exists()
