from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors.errors import ProviderBug
from connectors.payload import Payload

ITEM = {
    "Code": "ABC-1",
    "Name": "Widget",
    "IsSold": True,
    "SalesDetails": {"UnitPrice": 12.5, "TaxType": None},
    "UpdatedDateUTC": "/Date(1573755038314+0000)/",
    "Lines": [{"Quantity": "2"}, {"Quantity": "two"}],
}


def item() -> Payload:
    return Payload(ITEM, record="Item 'ABC-1'")


def test_nested_number_is_read_as_decimal():
    assert item()["SalesDetails"]["UnitPrice"].decimal() == Decimal("12.5")


def test_wrong_type_names_the_record_and_the_field_path():
    with pytest.raises(ProviderBug, match=r"^Item 'ABC-1': Name is not a number$"):
        item()["Name"].decimal()


def test_missing_required_field_says_it_is_missing():
    with pytest.raises(ProviderBug, match=r"Item 'ABC-1': SalesDetails.Description is missing"):
        item()["SalesDetails"]["Description"].str()


def test_optional_field_that_is_null_or_absent_reads_as_none():
    assert item()["SalesDetails"]["TaxType"].optional_str() is None
    assert item()["PurchaseDetails"]["UnitPrice"].optional_decimal() is None


def test_optional_field_with_the_wrong_type_is_still_a_bug():
    with pytest.raises(ProviderBug, match="IsSold is not a string"):
        item()["IsSold"].optional_str()


def test_list_items_carry_their_index_in_the_path():
    lines = item()["Lines"].list()
    assert lines[0]["Quantity"].decimal() == Decimal("2")
    with pytest.raises(ProviderBug, match=r"Lines\[1\].Quantity is not a number"):
        lines[1]["Quantity"].decimal()


def test_indexing_into_a_string_is_a_bug_naming_the_field():
    with pytest.raises(ProviderBug, match="Code is not an object"):
        item()["Code"]["Inner"]


def test_microsoft_json_date_becomes_an_aware_utc_datetime():
    assert item()["UpdatedDateUTC"].datetime() == datetime(2019, 11, 14, 18, 10, 38, 314000, tzinfo=UTC)


def test_iso_datetime_with_offset_is_converted_to_utc():
    moment = Payload({"at": "2024-03-01T10:00:00+13:00"})["at"].datetime()
    assert moment == datetime(2024, 2, 29, 21, 0, tzinfo=UTC)


def test_naive_iso_datetime_is_taken_as_utc():
    assert Payload({"at": "2024-03-01T10:00:00"})["at"].datetime() == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def test_unreadable_date_is_a_bug():
    with pytest.raises(ProviderBug, match="at is not a date and time"):
        Payload({"at": "yesterday"}, record="Sale 7")["at"].datetime()


def test_boolean_is_not_accepted_as_a_number():
    with pytest.raises(ProviderBug, match="IsSold is not a number"):
        item()["IsSold"].decimal()


def test_bool_reads_only_real_booleans():
    assert item()["IsSold"].bool() is True
    with pytest.raises(ProviderBug, match="Code is not true or false"):
        item()["Code"].bool()


def test_whole_number_rejects_fractions():
    assert Payload({"n": "3"})["n"].int() == 3
    with pytest.raises(ProviderBug, match="n is not a whole number"):
        Payload({"n": 3.5})["n"].int()


def test_a_body_that_is_not_an_object_is_reported_as_the_response():
    with pytest.raises(ProviderBug, match=r"^the response is not an object$"):
        Payload(["unexpected"])["Items"]
