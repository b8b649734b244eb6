"""The Xero emulator answers as Xero does (FACTS section 1), checked with plain HTTP requests."""

import pytest
import requests

from connectors.xero.emulator import XeroEmulator


@pytest.fixture
def token(xero):
    return xero.issue_credentials()["credentials"]["access_token"]


def api(xero, token, path, *, method="GET", tenant=None, **kwargs):
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", **kwargs.pop("headers", {})}
    if tenant is not False:
        headers["xero-tenant-id"] = tenant or xero.org.tenant_id
    return requests.request(
        method, f"{xero.public_url}/api.xro/2.0/{path}", headers=headers, timeout=10, **kwargs
    )


def test_call_without_a_bearer_token_is_401_token_expired(xero):
    response = requests.get(f"{xero.public_url}/api.xro/2.0/Items", timeout=5)
    assert response.status_code == 401
    assert response.json() == {"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired"}


def test_access_token_lapses_after_thirty_minutes(xero, token, clock):
    clock.advance(30 * 60)
    assert api(xero, token, "Items").status_code == 401


def test_call_without_the_tenant_header_is_403(xero, token):
    assert api(xero, token, "Items", tenant=False).status_code == 403
    assert api(xero, token, "Items", tenant="not-a-tenant").status_code == 403


def test_connections_lists_the_organisation_without_a_tenant_header(xero, token):
    response = requests.get(
        f"{xero.public_url}/connections", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert [c["tenantId"] for c in response.json()] == [xero.org.tenant_id]


def test_refresh_token_rotates_and_the_old_one_works_for_thirty_minutes(xero, clock):
    old = xero.issue_credentials()["credentials"]["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": old}
    auth = (xero.oauth.client_id, xero.oauth.client_secret)
    first = requests.post(f"{xero.public_url}/connect/token", data=form, auth=auth, timeout=5).json()
    assert first["refresh_token"] != old and first["expires_in"] == 1800
    clock.advance(29 * 60)
    assert requests.post(f"{xero.public_url}/connect/token", data=form, auth=auth, timeout=5).json() == first
    clock.advance(2 * 60)
    late = requests.post(f"{xero.public_url}/connect/token", data=form, auth=auth, timeout=5)
    assert (late.status_code, late.json()) == (400, {"error": "invalid_grant"})


def test_answers_carry_the_remaining_call_headers(xero, token):
    first = api(xero, token, "Items")
    second = api(xero, token, "Items")
    assert first.headers["X-MinLimit-Remaining"] == "59"
    assert second.headers["X-MinLimit-Remaining"] == "58"
    assert second.headers["X-DayLimit-Remaining"] == "4998"
    assert "X-AppMinLimit-Remaining" in second.headers


def test_sixty_first_call_in_a_minute_is_429_with_retry_after_and_the_problem(start_emulator, clock):
    xero = start_emulator("xero", clock=clock, minute_limit=3)
    token = xero.issue_credentials()["credentials"]["access_token"]
    statuses = [api(xero, token, "Items").status_code for _ in range(3)]
    limited = api(xero, token, "Items")
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.headers["X-Rate-Limit-Problem"] == "minute"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    clock.advance(60)
    assert api(xero, token, "Items").status_code == 200


def test_daily_limit_says_day(start_emulator, clock):
    xero = start_emulator("xero", clock=clock, day_limit=1)
    token = xero.issue_credentials()["credentials"]["access_token"]
    api(xero, token, "Items")
    limited = api(xero, token, "Items")
    assert (limited.status_code, limited.headers["X-Rate-Limit-Problem"]) == (429, "day")


def test_more_than_fifty_ids_is_404_as_in_the_wild(xero, token):
    ids = [xero.add_customer(name=f"C{n}") for n in range(51)]
    assert api(xero, token, "Contacts", params={"IDs": ",".join(ids[:50])}).status_code == 200
    assert api(xero, token, "Contacts", params={"IDs": ",".join(ids)}).status_code == 404


def test_items_are_one_unpaged_list_with_microsoft_dates(xero, token):
    xero.seed(products=150)
    body = api(xero, token, "Items", params={"page": 2}).json()
    assert len(body["Items"]) == 150
    assert body["Items"][0]["UpdatedDateUTC"].startswith("/Date(")


def test_contacts_page_at_the_requested_size_with_pagination(xero, token):
    xero.seed(customers=5)
    body = api(xero, token, "Contacts", params={"page": 2, "pageSize": 2}).json()
    assert [c["Name"] for c in body["Contacts"]] == ["Customer 00003", "Customer 00004"]
    assert body["pagination"] == {"page": 2, "pageSize": 2, "pageCount": 3, "itemCount": 5}


def test_archived_contacts_are_hidden_unless_asked_for(xero, token):
    archived = xero.add_customer(name="Gone Ltd")
    xero.archive_customer(archived)
    assert api(xero, token, "Contacts").json()["Contacts"] == []
    shown = api(xero, token, "Contacts", params={"includeArchived": "true"}).json()["Contacts"]
    assert [(c["ContactID"], c["ContactStatus"]) for c in shown] == [(archived, "ARCHIVED")]


def test_where_finds_an_item_by_code(xero, token):
    xero.seed(products=3)
    body = api(xero, token, "Items", params={"where": 'Code=="SKU-00002"'}).json()
    assert [i["Code"] for i in body["Items"]] == ["SKU-00002"]


def test_duplicate_item_code_is_a_validation_exception(xero, token):
    xero.seed(products=1)
    response = api(
        xero, token, "Items", method="PUT", json={"Items": [{"Code": "SKU-00001", "Name": "Again"}]}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["Type"] == "ValidationException"
    assert body["Elements"][0]["ValidationErrors"] == [{"Message": "Item code 'SKU-00001' already exists"}]


def test_batch_with_summarised_errors_fails_whole_but_still_saves_the_good_invoice(xero, token):
    contact = xero.add_customer(name="Buyer")
    good = {"Type": "ACCREC", "Contact": {"ContactID": contact}, "LineItems": [{"AccountCode": "200"}]}
    bad = {"Type": "ACCREC", "Contact": {"ContactID": contact}, "LineItems": [{"AccountCode": "999"}]}
    response = api(xero, token, "Invoices", method="PUT", json={"Invoices": [good, bad]})
    assert response.status_code == 400
    assert len(xero.invoices()) == 1


def test_same_idempotency_key_with_a_different_body_is_refused(xero, token):
    contact = xero.add_customer(name="Buyer")
    invoice = {"Type": "ACCREC", "Contact": {"ContactID": contact}, "LineItems": [{"AccountCode": "200"}]}
    headers = {"Idempotency-Key": "k-1"}
    assert api(xero, token, "Invoices", method="PUT", json=invoice, headers=headers).status_code == 200
    other = api(xero, token, "Invoices", method="PUT", json={**invoice, "Reference": "x"}, headers=headers)
    assert other.status_code == 400
    assert "different request" in other.text


def test_unknown_tax_type_is_refused_with_xeros_message(xero, token):
    contact = xero.add_customer(name="Buyer")
    invoice = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact},
        "LineItems": [{"AccountCode": "200", "TaxType": "XYZ"}],
    }
    body = api(
        xero, token, "Invoices", method="PUT", params={"summarizeErrors": "false"}, json=invoice
    ).json()
    assert body["Invoices"][0]["StatusAttributeString"] == "ERROR"
    assert "TaxType code 'XYZ' does not exist" in body["Invoices"][0]["ValidationErrors"][0]["Message"]


def test_seed_is_deterministic():
    first, second = XeroEmulator(), XeroEmulator()
    first.seed(products=3, customers=2)
    second.seed(products=3, customers=2)
    assert first.products() == second.products()
    assert [p["code"] for p in first.products()] == ["SKU-00001", "SKU-00002", "SKU-00003"]


def test_chart_of_accounts_and_tax_rates_list_the_codes_invoices_are_checked_against(xero, token):
    accounts = api(xero, token, "Accounts").json()["Accounts"]
    rates = api(xero, token, "TaxRates").json()["TaxRates"]
    assert "200" in {a["Code"] for a in accounts}
    assert "999" not in {a["Code"] for a in accounts}
    assert {"OUTPUT2", "NONE"} <= {r["TaxType"] for r in rates}
