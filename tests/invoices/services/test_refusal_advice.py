"""A refused document tells the merchant what to change in one sentence, then keeps the
provider's own words."""

import pytest
from django.utils import timezone

from invoices.services.advice import what_to_change
from invoices.services.posting import post_due_outbox_entries


@pytest.mark.parametrize(
    ("message", "advice"),
    [
        ("Account code '999' is not a valid code for this document.", "choose an active account"),
        (
            "The TaxType code 'VAT9' does not exist or cannot be used for this type of transaction.",
            "tax rate",
        ),
        ("The document date cannot be before the period lock date of 31 Oct 2026.", "period closed"),
        ("Invoice # must be unique.", "already has a document with this number"),
        ("The contact 'Jane Doe' is archived and cannot be used.", "restore the contact"),
        ("You do not have permission to access this resource.", "permission or plan"),
    ],
)
def test_each_problem_a_merchant_must_fix_gets_its_sentence(message, advice):
    assert advice in what_to_change("Xero", [message])


def test_a_message_we_do_not_recognise_gets_no_guess():
    assert what_to_change("Xero", ["Something unexpected happened."]) == ""


def test_a_refused_invoice_says_what_to_change_before_the_providers_words(xero_connection, sell, mug_on_xero):
    xero_connection.sales_account_code = "999"
    xero_connection.save()
    sale = sell("S-1", mug_on_xero)

    post_due_outbox_entries(connection=xero_connection, now=timezone.now())

    entry = sale.outbox_entries.get()
    assert entry.last_error.startswith("Xero does not accept the account mapped for this sale")
    assert "Account code '999'" in entry.last_error
