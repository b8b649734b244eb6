"""The Sage emulator behaves as Sage documents it, checked over plain HTTP."""

from datetime import timedelta

import pytest
import requests

from connectors.emulation.oauth import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET
from tests.connectors.contract import ManualClock


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def sage(start_emulator, clock):
    return start_emulator("sage", clock=clock, rate_limit=5)


@pytest.fixture
def token(sage):
    return sage.issue_credentials()["credentials"]


def get(sage, token, path, **params):
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    return requests.get(f"{sage.public_url}/v3.1/{path}", params=params, headers=headers, timeout=5)


def refresh(sage, refresh_token):
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": EMULATOR_CLIENT_ID,
        "client_secret": EMULATOR_CLIENT_SECRET,
    }
    return requests.post(f"{sage.public_url}/token", data=form, timeout=5)


def test_page_beyond_the_last_answers_the_last_page_again(sage, token):
    sage.seed(products=25)
    last = get(sage, token, "stock_items", page=2).json()
    beyond = get(sage, token, "stock_items", page=9).json()
    assert beyond["$page"] == 2
    assert beyond["$next"] is None
    assert beyond["$items"] == last["$items"]
    assert len(beyond["$items"]) == 5


def test_lists_hold_only_base_attributes_unless_all_are_asked_for(sage, token):
    sage.seed(products=1)
    [bare] = get(sage, token, "stock_items").json()["$items"]
    [full] = get(sage, token, "stock_items", attributes="all").json()["$items"]
    assert set(bare) == {"id", "displayed_as", "$path"}
    assert full["item_code"] == "SKU-00001"


def test_items_per_page_is_capped_at_200(sage, token):
    sage.rate_limit = 100
    sage.seed(products=201)
    page = get(sage, token, "stock_items", items_per_page=500).json()
    assert page["$itemsPerPage"] == 200
    assert len(page["$items"]) == 200


def test_updated_since_is_inclusive_and_deleted_since_exclusive(sage, token, clock):
    sage.seed(products=2)
    first, second = (p["remote_id"] for p in sage.products())
    stamp = get(sage, token, f"stock_items/{first}").json()["updated_at"]
    clock.advance(5)
    sage.delete_product(second)
    deleted_at = sage.lead.stock_items[second]["deleted_at"]
    changed = get(sage, token, "stock_items", updated_or_created_since=stamp).json()["$items"]
    assert [i["id"] for i in changed] == [first]
    assert [i["id"] for i in get(sage, token, "stock_items", deleted_since=stamp).json()["$items"]] == [
        second
    ]
    assert get(sage, token, "stock_items", deleted_since=deleted_at).json()["$items"] == []


def test_missing_token_gets_sages_error_array(sage):
    response = requests.get(f"{sage.public_url}/v3.1/stock_items", timeout=5)
    assert response.status_code == 401
    assert response.json()[0]["$dataCode"] == "AuthorizationFailure"


def test_access_token_expires_after_five_minutes(sage, token, clock):
    assert get(sage, token, "tax_rates").status_code == 200
    clock.advance(timedelta(minutes=5).total_seconds())
    assert get(sage, token, "tax_rates").status_code == 401


def test_refresh_token_rotates_without_grace(sage, token):
    renewed = refresh(sage, token["refresh_token"])
    assert renewed.status_code == 200
    assert renewed.json()["refresh_token_expires_in"] == 2678400
    assert renewed.json()["expires_in"] == 300
    assert refresh(sage, token["refresh_token"]).json() == {"error": "invalid_grant"}


def test_rate_limit_answers_429_without_headers(sage, token):
    statuses = [get(sage, token, "tax_rates") for _ in range(6)]
    assert [r.status_code for r in statuses] == [200] * 5 + [429]
    assert "Retry-After" not in statuses[-1].headers
    assert statuses[-1].json()[0]["$dataCode"] == "TooManyRequests"


def test_rate_limit_window_resets_each_minute(sage, token, clock):
    for _ in range(5):
        get(sage, token, "tax_rates")
    clock.advance(60)
    assert get(sage, token, "tax_rates").status_code == 200


def test_unknown_ledger_account_is_refused_naming_the_line_field(sage, token):
    contact_id = sage.add_customer(name="Buyer", email="b@example.com")
    body = {
        "sales_invoice": {
            "contact": {"id": contact_id},
            "date": "2026-11-20",
            "invoice_lines": [
                {"description": "x", "quantity": "1", "unit_price": "5", "ledger_account": {"id": "nope"}}
            ],
        }
    }
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    response = requests.post(f"{sage.public_url}/v3.1/sales_invoices", json=body, headers=headers, timeout=5)
    assert response.status_code == 422
    assert response.json() == [
        {
            "$severity": "error",
            "$dataCode": "RecordInvalid",
            "$message": "Ledger Account is invalid",
            "$source": "invoice_lines.0.ledger_account",
        }
    ]
