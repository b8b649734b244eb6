"""Customer sync and linking against the provider emulators: link by email or account number,
never by name; ambiguity links nothing; a linked customer is never overwritten on either side."""

import copy

import pytest
from django.core.management import call_command
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from connectors.http import connector_for
from syncing.models import Customer, CustomerLink, LinkMethod, SyncRun
from syncing.services.customers import (
    AmbiguousCustomer,
    NoCashSaleContact,
    cash_sale_contact,
    link_customer_for_sale,
    pull_changed_customers,
)
from syncing.tasks import pull_changed_customers_task
from tests import factories
from tests.concurrency import race

MANUAL = SyncRun.Trigger.MANUAL
# The path of each provider's contacts resource, to count the writes that create one.
CONTACTS_PATH = {"xero": "/Contacts", "vend": "/customers", "sage": "/contacts", "unleashed": "/Customers"}


def contact_writes(emulator, provider) -> int:
    path = CONTACTS_PATH[provider]
    return emulator.calls("POST", path) + emulator.calls("PUT", path)


def remote_contact(emulator, provider, remote_id) -> dict:
    """The emulator's own record of a contact, for before/after comparisons."""
    records = emulator.org.contacts if provider == "xero" else emulator.customers
    with emulator.lock:
        return copy.deepcopy(records[remote_id])


def edit_remote_contact(emulator, provider, clock, remote_id, *, name, email) -> None:
    """A person edits the contact in the provider, a few seconds later."""
    clock.advance(seconds=5)
    with emulator.lock:
        if provider == "xero":
            emulator.org.contacts[remote_id].update(Name=name, EmailAddress=email, UpdatedDateUTC=clock())
        else:
            emulator.customers[remote_id].update(
                company_name=name,
                name=name,
                email=email,
                updated_at=emulator._now(),
                version=emulator._bump(emulator.customer_feed, remote_id),
            )


def remote_contact_ids_with_email(connection, email) -> list[str]:
    return [r.remote_id for r in connector_for(connection).find_customer(email=email)]


def pull(connection) -> SyncRun:
    return pull_changed_customers(connection=connection, trigger=MANUAL)


def test_unknown_contact_is_imported_as_a_new_linked_customer(connection, emulator, tenant):
    remote_id = emulator.add_customer(name="Grace Hopper", email="grace@example.com", account_number="GH-1")

    run = pull(connection)

    link = CustomerLink.objects.get(connection=connection, remote_id=remote_id)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert (run.created, link.method) == (1, LinkMethod.IMPORTED)
    assert (link.customer.tenant, link.customer.name, link.customer.email) == (
        tenant,
        "Grace Hopper",
        "grace@example.com",
    )


def test_contact_is_linked_by_email_ignoring_case_and_spaces(connection, emulator, tenant):
    customer = factories.CustomerFactory(tenant=tenant, name="Ada L.", email="  Ada@Example.COM ")
    remote_id = emulator.add_customer(name="Ada Lovelace", email="ada@example.com")

    run = pull(connection)

    link = CustomerLink.objects.get(connection=connection, remote_id=remote_id)
    assert (link.customer, link.method) == (customer, LinkMethod.MATCHED_EMAIL)
    assert (run.created, run.updated) == (0, 1)
    assert Customer.objects.filter(tenant=tenant).count() == 1


def test_contact_is_linked_by_account_number(connection, emulator, tenant):
    customer = factories.CustomerFactory(tenant=tenant, email="", account_number="ACC-77")
    remote_id = emulator.add_customer(name="Account Holder", account_number="ACC-77")

    pull(connection)

    link = CustomerLink.objects.get(connection=connection, remote_id=remote_id)
    assert (link.customer, link.method) == (customer, LinkMethod.MATCHED_ACCOUNT)


def test_contact_sharing_only_a_name_is_imported_not_linked(connection, emulator, tenant):
    namesake = factories.CustomerFactory(tenant=tenant, name="Sam Smith", email="sam@one.example")
    remote_id = emulator.add_customer(name="Sam Smith", email="sam@two.example")

    pull(connection)

    link = CustomerLink.objects.get(connection=connection, remote_id=remote_id)
    assert link.customer != namesake
    assert link.method == LinkMethod.IMPORTED
    assert not namesake.links.exists()


def test_two_contacts_with_one_email_link_nothing_and_are_reported(connection, emulator, tenant):
    customer = factories.CustomerFactory(tenant=tenant, email="shared@example.com")
    emulator.add_customer(name="Shared One", email="shared@example.com")
    emulator.add_customer(name="Shared Two", email="SHARED@example.com")

    run = pull(connection)

    assert run.status == SyncRun.Status.PARTIAL
    assert run.failed == 2
    assert not CustomerLink.objects.filter(connection=connection).exists()
    assert not customer.links.exists()
    assert "have the email shared@example.com; none was linked" in run.record_errors[0]["message"]


def test_contact_whose_email_two_customers_share_links_nothing(connection, emulator, tenant):
    factories.CustomerFactory.create_batch(2, tenant=tenant, email="family@example.com")
    emulator.add_customer(name="The Family", email="family@example.com")

    run = pull(connection)

    assert run.status == SyncRun.Status.PARTIAL
    assert not CustomerLink.objects.filter(connection=connection).exists()
    assert Customer.objects.filter(tenant=tenant).count() == 2
    assert run.record_errors[0]["message"].startswith("2 customers here have the email family@example.com")


def test_second_contact_with_an_already_linked_email_is_reported_on_a_later_pull(
    connection, emulator, clock, tenant
):
    emulator.add_customer(name="First Holder", email="once@example.com")
    pull(connection)
    clock.advance(seconds=5)
    emulator.add_customer(name="Second Holder", email="once@example.com")

    run = pull(connection)

    assert run.status == SyncRun.Status.PARTIAL
    assert CustomerLink.objects.filter(connection=connection).count() == 1
    assert "already linked" in run.record_errors[0]["message"]


@pytest.mark.parametrize("provider", ["xero", "vend"])
def test_linked_customer_is_overwritten_on_neither_side(connection, emulator, provider, clock, tenant):
    remote_id = emulator.add_customer(name="Linus T", email="linus@example.com")
    pull(connection)
    customer = Customer.objects.get(links__remote_id=remote_id)
    Customer.objects.filter(pk=customer.pk).update(name="Linus (local)", email="linus@local.example")
    link_before = CustomerLink.objects.get(pk=customer.links.get().pk)
    edit_remote_contact(emulator, provider, clock, remote_id, name="Linus (remote)", email="l@remote.example")
    remote_before = remote_contact(emulator, provider, remote_id)
    emulator.reset_calls()

    run = pull(connection)

    customer.refresh_from_db()
    link = customer.links.get()
    assert run.fetched == 1
    assert (customer.name, customer.email) == ("Linus (local)", "linus@local.example")
    assert remote_contact(emulator, provider, remote_id) == remote_before
    assert contact_writes(emulator, provider) == 0
    assert link.remote_updated_at > link_before.remote_updated_at
    assert link.last_confirmed_at > link_before.last_confirmed_at


@pytest.mark.parametrize("provider", ["xero", "vend"])
def test_contact_deleted_remotely_marks_its_link_and_keeps_the_customer(
    connection, emulator, provider, clock
):
    remote_id = emulator.add_customer(name="Leaving Soon", email="leaving@example.com")
    pull(connection)
    clock.advance(seconds=5)
    if provider == "xero":
        emulator.archive_customer(remote_id)
    else:
        emulator.delete_customer(remote_id)

    pull(connection)

    link = CustomerLink.objects.get(connection=connection, remote_id=remote_id)
    assert link.remote_deleted is True
    assert link.customer.name == "Leaving Soon"


def test_a_page_of_contacts_is_stored_with_a_few_queries_not_one_per_contact(connection, emulator, tenant):
    for n in range(12):
        emulator.add_customer(name=f"Bulk {n}", email=f"bulk{n}@example.com")
    factories.CustomerFactory(tenant=tenant, email="bulk3@example.com")

    with CaptureQueriesContext(db_connection) as queries:
        run = pull(connection)

    customer_queries = [q["sql"] for q in queries if '"syncing_customer' in q["sql"]]
    assert (run.created, run.updated) == (11, 1)
    assert len(customer_queries) <= 6, customer_queries


def test_link_for_sale_returns_the_existing_link_without_calling_the_provider(connection, emulator, tenant):
    link = factories.CustomerLinkFactory(connection=connection, customer__tenant=tenant)
    emulator.reset_calls()

    assert link_customer_for_sale(customer=link.customer, connection=connection) == link
    assert emulator.calls() == 0


def test_link_for_sale_finds_the_contact_by_email(connection, emulator, provider, tenant):
    remote_id = emulator.add_customer(name="Found By Mail", email="mail@example.com")
    customer = factories.CustomerFactory(tenant=tenant, email=" Mail@Example.com")

    link = link_customer_for_sale(customer=customer, connection=connection)

    assert (link.remote_id, link.method) == (remote_id, LinkMethod.MATCHED_EMAIL)
    assert contact_writes(emulator, provider) == 0


def test_link_for_sale_finds_the_contact_by_account_number(connection, emulator, provider, tenant):
    remote_id = emulator.add_customer(name="Found By Account", account_number="ACC-9")
    customer = factories.CustomerFactory(tenant=tenant, email="nomatch@example.com", account_number="ACC-9")

    link = link_customer_for_sale(customer=customer, connection=connection)

    assert (link.remote_id, link.method) == (remote_id, LinkMethod.MATCHED_ACCOUNT)
    assert contact_writes(emulator, provider) == 0


def test_link_for_sale_creates_an_absent_contact_exactly_once(connection, emulator, provider, tenant):
    customer = factories.CustomerFactory(tenant=tenant, name="Brand New", email="new@example.com")

    link = link_customer_for_sale(customer=customer, connection=connection)
    again = link_customer_for_sale(customer=customer, connection=connection)

    assert link.method == LinkMethod.CREATED
    assert again == link
    assert contact_writes(emulator, provider) == 1
    assert remote_contact_ids_with_email(connection, "new@example.com") == [link.remote_id]


def test_link_for_sale_with_two_matching_contacts_refuses_to_guess(connection, emulator, provider, tenant):
    emulator.add_customer(name="Twin One", email="twin@example.com")
    emulator.add_customer(name="Twin Two", email="twin@example.com")
    customer = factories.CustomerFactory(tenant=tenant, name="A Twin", email="twin@example.com")

    with pytest.raises(AmbiguousCustomer, match=r"2 .* contacts have the email twin@example.com"):
        link_customer_for_sale(customer=customer, connection=connection)

    assert not customer.links.exists()
    assert contact_writes(emulator, provider) == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("provider", ["xero", "vend"])
def test_two_racing_sales_create_one_contact(connection, emulator, provider, tenant):
    customer = factories.CustomerFactory(tenant=tenant, name="Raced Customer", email="race@example.com")
    links, errors = race(lambda _: link_customer_for_sale(customer=customer, connection=connection).remote_id)
    assert errors == []
    assert contact_writes(emulator, provider) == 1
    assert len(links) == 2 and len(set(links)) == 1


def test_cash_sale_contact_is_created_once_and_reused(connection, emulator, provider):
    first = cash_sale_contact(connection=connection)
    second = cash_sale_contact(connection=connection)

    connection.refresh_from_db()
    assert first == second == connection.cash_sale_contact_id
    assert contact_writes(emulator, provider) == 1


@pytest.mark.parametrize("provider", ["xero", "vend"])
def test_existing_cash_sales_contact_is_found_not_duplicated(connection, emulator, provider):
    remote_id = emulator.add_customer(name="Cash sales", account_number="CASH-SALES")

    assert cash_sale_contact(connection=connection) == remote_id
    assert contact_writes(emulator, provider) == 0


@pytest.mark.parametrize("provider", ["xero"])
def test_cash_sale_contact_chosen_in_settings_is_used_without_calls(connection, emulator):
    connection.cash_sale_contact_id = "chosen-contact"
    emulator.reset_calls()

    assert cash_sale_contact(connection=connection) == "chosen-contact"
    assert emulator.calls() == 0


@pytest.mark.parametrize("provider", ["xero"])
def test_cash_sale_without_a_contact_or_permission_to_create_one_asks_the_merchant(connection, emulator):
    connection.create_cash_sale_contact = False

    with pytest.raises(NoCashSaleContact, match="Choose a cash-sale contact in the connection settings"):
        cash_sale_contact(connection=connection)
    assert emulator.calls() == 0


@pytest.mark.parametrize("provider", ["vend"])
def test_sync_customers_command_reports_the_run(connection, emulator, capsys):
    emulator.add_customer(name="Command Line", email="cli@example.com")

    call_command("sync_customers", connection=connection.pk)

    assert "customers succeeded, 1 fetched, 1 created" in capsys.readouterr().out


@pytest.mark.parametrize("provider", ["xero"])
def test_scheduled_customer_task_runs_the_pull_and_returns_its_summary(connection, emulator):
    emulator.add_customer(name="Scheduled", email="scheduled@example.com")

    summary = pull_changed_customers_task(connection.pk)

    assert (summary["kind"], summary["status"], summary["created"]) == ("customers", "succeeded", 1)
    assert SyncRun.objects.get(pk=summary["run"]).trigger == SyncRun.Trigger.SCHEDULE
