"""The Unleashed emulator behaves as Unleashed documents, checked with plain signed requests."""

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from connectors.emulation import serve
from connectors.unleashed.emulator import UnleashedEmulator


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def sign(key: str, query: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), query.encode(), hashlib.sha256).digest()).decode()


@pytest.fixture
def clock():
    return Clock(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))


@pytest.fixture
def unleashed(clock):
    app = UnleashedEmulator(clock=clock)
    server = serve(app)
    yield app
    server.stop()


def call(app, method: str, path: str, query: str = "", *, signed_query: str | None = None, json=None):
    credentials = app.issue_credentials()["credentials"]
    signature = sign(credentials["api_key"], query if signed_query is None else signed_query)
    url = f"{app.public_url}{path}" + (f"?{query}" if query else "")
    headers = {
        "api-auth-id": credentials["api_id"],
        "api-auth-signature": signature,
        "client-type": "tests/unleashed",
        "Accept": "application/json",
    }
    return requests.request(method, url, headers=headers, json=json, timeout=5)


def test_request_signed_over_its_query_string_is_accepted(unleashed):
    unleashed.seed(products=3)
    response = call(unleashed, "GET", "/Products", "productCode=SKU-0000&pageSize=2")
    assert response.status_code == 200
    assert [p["ProductCode"] for p in response.json()["Items"]] == ["SKU-00001", "SKU-00002"]


def test_request_without_a_query_is_signed_over_the_empty_string(unleashed):
    assert call(unleashed, "GET", "/Warehouses").status_code == 200


def test_signature_over_another_query_is_refused_with_403(unleashed):
    response = call(unleashed, "GET", "/Products", "pageSize=2", signed_query="pageSize=3")
    assert response.status_code == 403


def test_signature_including_the_question_mark_is_refused(unleashed):
    response = call(unleashed, "GET", "/Products", "pageSize=2", signed_query="?pageSize=2")
    assert response.status_code == 403


def test_page_number_in_the_path_is_not_signed(unleashed):
    unleashed.seed(products=3)
    response = call(unleashed, "GET", "/Products/2", "pageSize=2")
    assert response.status_code == 200
    body = response.json()
    assert body["Pagination"] == {"NumberOfItems": 3, "PageSize": 2, "PageNumber": 2, "NumberOfPages": 2}
    assert [p["ProductCode"] for p in body["Items"]] == ["SKU-00003"]


def test_page_size_above_1000_is_refused(unleashed):
    assert call(unleashed, "GET", "/Products", "pageSize=1001").status_code == 400


def test_obsolete_product_is_listed_only_when_asked_for(unleashed):
    unleashed.seed(products=2)
    gone = unleashed.products()[0]["remote_id"]
    unleashed.delete_product(gone)
    default = call(unleashed, "GET", "/Products").json()["Items"]
    everything = call(unleashed, "GET", "/Products", "includeObsolete=true").json()["Items"]
    assert gone not in {p["Guid"] for p in default}
    assert {p["Guid"]: p["Obsolete"] for p in everything}[gone] is True


def test_modified_since_lists_only_later_changes(unleashed, clock):
    unleashed.seed(products=3)
    clock.now += timedelta(minutes=5)
    changed = unleashed.products()[2]["remote_id"]
    unleashed.update_product(changed, name="Renamed")
    since = (clock.now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    items = call(unleashed, "GET", "/Products", f"modifiedSince={since}").json()["Items"]
    assert [(p["Guid"], p["ProductDescription"]) for p in items] == [(changed, "Renamed")]


def test_dates_use_the_microsoft_json_format(unleashed, clock):
    unleashed.seed(products=1)
    [product] = call(unleashed, "GET", "/Products").json()["Items"]
    assert product["LastModifiedOn"] == f"/Date({int(clock.now.timestamp() * 1000)})/"


def test_stock_on_hand_leaves_out_products_that_never_moved(unleashed):
    unleashed.seed(products=7, locations=2)
    items = call(unleashed, "GET", "/StockOnHand", "pageSize=1000").json()["Items"]
    listed = {s["ProductCode"] for s in items}
    assert "SKU-00007" not in listed
    assert len(listed) == 6
    assert {s["WarehouseCode"] for s in items} == {"MAIN", "STORE"}


def test_spent_quota_blocks_every_call_until_the_first_of_next_month(clock):
    app = UnleashedEmulator(clock=clock, quota=2)
    server = serve(app)
    try:
        assert call(app, "GET", "/Warehouses").status_code == 200
        assert call(app, "GET", "/Products").status_code == 200
        blocked = call(app, "GET", "/Warehouses")
        assert blocked.status_code == 429
        assert "2026-12-01T00:00:00Z" in blocked.json()["Description"]
        clock.now = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
        assert call(app, "GET", "/Warehouses").status_code == 429
        clock.now = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
        assert call(app, "GET", "/Warehouses").status_code == 200
    finally:
        server.stop()


def test_repeated_sales_order_post_with_the_same_guid_makes_one_order(unleashed):
    unleashed.seed(products=1)
    product = unleashed.products()[0]["remote_id"]
    customer = unleashed.add_customer(name="Buyer", email="buyer@example.com")
    guid = str(uuid.uuid4())
    order = {
        "OrderNumber": "SALE-7",
        "SourceId": "SALE-7",
        "Customer": {"Guid": customer},
        "SalesOrderLines": [{"Product": {"Guid": product}, "OrderQuantity": 2, "UnitPrice": 3.5}],
    }
    first = call(unleashed, "POST", f"/SalesOrders/{guid}", json=order)
    second = call(unleashed, "POST", f"/SalesOrders/{guid}", json=order)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["Guid"] == first.json()["Guid"]
    assert [(i["reference"], i["total"]) for i in unleashed.invoices()] == [("SALE-7", Decimal("7"))]


def test_sales_order_for_an_unknown_customer_is_refused_naming_the_field(unleashed):
    unleashed.seed(products=1)
    product = unleashed.products()[0]["remote_id"]
    order = {
        "Customer": {"Guid": str(uuid.uuid4())},
        "SalesOrderLines": [{"Product": {"Guid": product}, "OrderQuantity": 1, "UnitPrice": 1}],
    }
    response = call(unleashed, "POST", f"/SalesOrders/{uuid.uuid4()}", json=order)
    assert response.status_code == 400
    assert response.json()["Errors"][0]["Field"] == "Customer"
    assert unleashed.invoices() == []


def test_product_post_creates_then_updates_the_same_guid(unleashed):
    guid = str(uuid.uuid4())
    body = {"ProductCode": "NEW-1", "ProductDescription": "New", "DefaultSellPrice": 4}
    assert call(unleashed, "POST", f"/Products/{guid}", json=body).status_code == 201
    body["ProductDescription"] = "Newer"
    assert call(unleashed, "POST", f"/Products/{guid}", json=body).status_code == 200
    assert [(p["remote_id"], p["name"]) for p in unleashed.products()] == [(guid, "Newer")]


def test_product_made_obsolete_through_the_api_leaves_the_default_list(unleashed):
    unleashed.seed(products=1)
    guid = unleashed.products()[0]["remote_id"]
    assert call(unleashed, "POST", f"/Products/Obsolete/{guid}").status_code == 200
    assert unleashed.products() == []


def test_overlong_query_string_is_refused(unleashed):
    ids = ",".join(str(uuid.uuid4()) for _ in range(60))
    assert call(unleashed, "GET", "/Products", f"productId={ids}").status_code == 414
