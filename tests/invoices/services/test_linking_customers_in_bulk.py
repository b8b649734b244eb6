"""A claim's new customers are linked together where the provider can search and create many at
once (Xero: one search, one create), under the same rules as one at a time: by email or account
number, never by name; an ambiguous match fails that sale alone; a lost create is found, not
made twice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.emulation.app import Fault
from invoices.models import OutboxEntry
from invoices.services.posting import post_due_outbox_entries
from syncing.models import CustomerLink, LinkMethod
from syncing.services.customers import link_customers_for_sales
from tests import factories
from tests.concurrency import race

State = OutboxEntry.State


def contact_calls(xero) -> tuple[int, int]:
    """(searches, creates) of contacts the emulator received."""
    return xero.calls("GET", "/Contacts"), xero.calls("PUT", "/Contacts")


def contacts_with_email(xero, email: str) -> list[str]:
    with xero.lock:
        return [c["ContactID"] for c in xero.org.contacts.values() if c.get("EmailAddress") == email]


def test_a_claim_of_sales_to_new_customers_spends_one_search_and_one_create(
    xero, xero_connection, mug_on_xero, sell, tenant
):
    customers = [factories.CustomerFactory(tenant=tenant) for _ in range(12)]
    sales = [sell(f"S-{n:02d}", mug_on_xero, customer=customers[n % 12]) for n in range(30)]

    post_due_outbox_entries(connection=xero_connection)

    assert {e.state for e in OutboxEntry.objects.filter(sale__in=sales)} == {State.POSTED}
    assert contact_calls(xero) == (1, 1)
    links = CustomerLink.objects.filter(connection=xero_connection)
    assert {link.method for link in links} == {LinkMethod.CREATED}
    assert {link.customer_id for link in links} == {c.pk for c in customers}
    assert all(len(contacts_with_email(xero, c.email)) == 1 for c in customers)


def test_customers_already_in_xero_are_linked_without_creating_them(
    xero, xero_connection, mug_on_xero, sell, tenant
):
    by_email = factories.CustomerFactory(tenant=tenant, email="Known@Example.com")
    by_account = factories.CustomerFactory(tenant=tenant, email="", account_number="ACC-7")
    known_email = xero.add_customer(name="Known Person", email="known@example.com")
    known_account = xero.add_customer(name="Account Holder", account_number="ACC-7")
    xero.reset_calls()
    sell("S-1", mug_on_xero, customer=by_email)
    sell("S-2", mug_on_xero, customer=by_account)

    post_due_outbox_entries(connection=xero_connection)

    assert {(link.customer_id, link.remote_id, link.method) for link in CustomerLink.objects.all()} == {
        (by_email.pk, known_email, LinkMethod.MATCHED_EMAIL),
        (by_account.pk, known_account, LinkMethod.MATCHED_ACCOUNT),
    }
    assert contact_calls(xero) == (1, 0)


def test_a_customer_only_sharing_a_name_with_a_contact_is_not_linked_to_it(
    xero, xero_connection, mug_on_xero, sell, tenant
):
    namesake = xero.add_customer(name="Jo Smith", email="jo@elsewhere.example")
    customer = factories.CustomerFactory(tenant=tenant, name="Jo Smith", email="jo@here.example")
    sale = sell("S-1", mug_on_xero, customer=customer)

    post_due_outbox_entries(connection=xero_connection)

    entry = sale.outbox_entries.get()
    assert not CustomerLink.objects.filter(remote_id=namesake).exists()
    # Xero wants contact names unique: the merchant decides, nothing is linked by name.
    assert entry.state == State.NEEDS_ATTENTION
    assert "Jo Smith" in entry.last_error


def test_an_ambiguous_customer_needs_attention_and_the_others_are_posted(
    xero, xero_connection, mug_on_xero, sell, tenant
):
    xero.add_customer(name="Twin One", email="twin@example.com")
    xero.add_customer(name="Twin Two", email="twin@example.com")
    twin = factories.CustomerFactory(tenant=tenant, email="twin@example.com")
    other = factories.CustomerFactory(tenant=tenant)
    ambiguous, fine = sell("S-1", mug_on_xero, customer=twin), sell("S-2", mug_on_xero, customer=other)
    xero.reset_calls()

    post_due_outbox_entries(connection=xero_connection)

    entry = ambiguous.outbox_entries.get()
    assert entry.state == State.NEEDS_ATTENTION
    assert "2 Xero contacts have the email twin@example.com" in entry.last_error
    assert not twin.links.exists()
    assert fine.outbox_entries.get().state == State.POSTED
    assert contact_calls(xero) == (1, 1)
    assert len(contacts_with_email(xero, "twin@example.com")) == 2


def test_a_lost_create_answer_is_found_by_the_next_search_not_created_again(
    xero, xero_connection, mug_on_xero, sell, tenant
):
    customer = factories.CustomerFactory(tenant=tenant, email="Lost.Answer@Example.com")
    sale = sell("S-1", mug_on_xero, customer=customer)
    # Xero creates the contact, but no answer to the PUT (nor to the session's retries) comes back.
    xero.fault_source = lambda request: (
        Fault("lose_response") if request.method == "PUT" and "/Contacts" in request.path else None
    )
    now = timezone.now()
    post_due_outbox_entries(connection=xero_connection, now=now)
    assert sale.outbox_entries.get().state == State.RETRYING
    xero.fault_source = None
    xero.reset_calls()

    post_due_outbox_entries(connection=xero_connection, now=now + timedelta(minutes=10))

    assert sale.outbox_entries.get().state == State.POSTED
    [remote_id] = contacts_with_email(xero, "Lost.Answer@Example.com")
    link = customer.links.get()
    assert (link.remote_id, link.method) == (remote_id, LinkMethod.MATCHED_EMAIL)
    assert contact_calls(xero) == (1, 0)


@pytest.mark.django_db(transaction=True)
def test_two_workers_linking_the_same_new_customers_create_each_once(xero, xero_connection, tenant):
    customers = [factories.CustomerFactory(tenant=tenant) for _ in range(5)]

    results, errors = race(
        lambda _: link_customers_for_sales(customers=customers, connection=xero_connection)
    )

    assert errors == []
    assert all(len(contacts_with_email(xero, c.email)) == 1 for c in customers)
    # Whoever lost a claim left that customer to the one-at-a-time path, which waits for it.
    linked = [outcome.links for outcome in results]
    for customer in customers:
        ids = {links[customer.pk].remote_id for links in linked if customer.pk in links}
        assert ids == set(contacts_with_email(xero, customer.email))


def test_a_provider_that_searches_one_at_a_time_keeps_the_single_path(sage, sage_connection, tenant):
    customer = factories.CustomerFactory(tenant=tenant)
    sage.reset_calls()

    outcome = link_customers_for_sales(customers=[customer], connection=sage_connection)

    assert (outcome.links, outcome.failures) == ({}, {})
    assert sage.calls() == 0
