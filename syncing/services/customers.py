"""Customers: link local customers to remote contacts, import the ones we lack, and find (or
create once) the remote contact a sale needs.

A link is made by email (compared trimmed and case-insensitively) or by account number, never by
name: two people may share a name, and a wrong link would post someone's sale to a stranger. A
match that could mean two things links nothing and is reported for a person to decide. Once
linked, neither side's details are touched by a sync: the merchant may keep different details
here and there, so a pull only confirms the link (version, timestamps, deleted or not).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q
from django.db.models.functions import Lower, Trim

from connectors.base import Capability, Priority
from connectors.errors import ConnectorError, TransientError, ValidationFailed
from connectors.http import connector_for
from connectors.records import NewCustomer, RemoteCustomer
from syncing.models import Connection, Customer, CustomerLink, LinkMethod, SyncRun
from syncing.services import runs
from syncing.services.leases import claim
from syncing.services.links import live_link, save_link

# Fields of a link a pull may change; everything else about a linked customer is left alone.
CONFIRMED_FIELDS = ("remote_version", "remote_updated_at", "last_confirmed_at", "remote_deleted")
NEW_LINK_FIELDS = ("remote_id", "remote_code", "method", "linked_at", *CONFIRMED_FIELDS)
# How long one worker may hold the right to create a contact, and how long others wait for it.
CREATE_CLAIM_TTL = timedelta(minutes=5)
CREATE_CLAIM_WAIT = 60.0
MATCH_METHODS = {"email": LinkMethod.MATCHED_EMAIL, "account number": LinkMethod.MATCHED_ACCOUNT}
CASH_SALE_NAME = "Cash sales"
CASH_SALE_ACCOUNT = "CASH-SALES"


class AmbiguousCustomer(Exception):
    """More than one contact could be this customer; a person must choose which."""


class NoCashSaleContact(Exception):
    """A sale without a customer has no contact to go to on this connection."""


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def pull_changed_customers(
    *,
    connection: Connection,
    trigger: str,
    on_page: Callable[[int], None] | None = None,
    since: str | None = None,
) -> SyncRun:
    """Read the contacts changed since the last pull, page by page: confirm linked ones, link
    unlinked ones that match a local customer, import the rest."""

    def work(job: runs.Job) -> None:
        connector = connector_for(connection, run=job.run, priority=Priority.POLL)
        runs.follow_feed(
            job,
            resource="customers",
            fetch=connector.pull_customers,
            store=store_customers,
            on_page=on_page,
            since=since,
        )

    return runs.leased_run(
        connection=connection, kind=SyncRun.Kind.CUSTOMERS, trigger=trigger, cursor_key="customers", work=work
    )


def store_customers(
    *, connection: Connection, run: SyncRun, records: Sequence[RemoteCustomer], now: datetime
) -> None:
    """Store one page of remote contacts: one read of links by remote id, one of candidate local
    customers, one of their links, then one bulk write per table. Counts into `run`: a confirmed
    link is unchanged, a new link to an existing customer updated, an import created."""
    records = list({record.remote_id: record for record in records}.values())
    linked = {
        link.remote_id: link
        for link in CustomerLink.objects.filter(
            connection=connection, remote_id__in=[r.remote_id for r in records]
        )
    }
    for record in records:
        link = linked.get(record.remote_id)
        if link:
            link.remote_version = record.version
            link.remote_updated_at = record.updated_at or link.remote_updated_at
            link.last_confirmed_at = now
            link.remote_deleted = not record.active
            run.unchanged += 1
    CustomerLink.objects.bulk_update(linked.values(), list(CONFIRMED_FIELDS))

    # A contact deleted before we ever linked it is nothing to us.
    fresh = [r for r in records if r.remote_id not in linked and r.active]
    matches = _matches(connection, fresh)
    claimed_by: dict[int, list[RemoteCustomer]] = defaultdict(list)
    decided: list[tuple[RemoteCustomer, Customer | None, str]] = []
    for record in fresh:
        customer, method, problem = matches[record.remote_id]
        if problem:
            runs.record_error(run, record=_label(record), message=problem)
        elif customer:
            claimed_by[customer.pk].append(record)
            decided.append((record, customer, method))
        else:
            decided.append((record, None, LinkMethod.IMPORTED))
    # Two contacts of one page landing on the same customer (one by email, one by account number).
    for claimants in claimed_by.values():
        if len(claimants) > 1:
            for record in claimants:
                runs.record_error(run, record=_label(record), message=_shared_customer(connection, claimants))
    decided = [(r, c, m) for r, c, m in decided if c is None or len(claimed_by[c.pk]) == 1]
    if not decided:
        return

    imports = [
        Customer(
            tenant_id=connection.tenant_id,
            # Cut to our column sizes: providers allow longer values than we keep.
            name=record.name[:255],
            first_name=record.first_name[:100],
            last_name=record.last_name[:100],
            email=record.email.strip()[:254],
            account_number=record.account_number.strip()[:50],
            phone=record.phone[:50],
        )
        for record, customer, _ in decided
        if customer is None
    ]
    Customer.objects.bulk_create(imports)
    created = iter(imports)
    new_links = []
    for record, customer, method in decided:
        customer = customer or next(created)
        if method == LinkMethod.IMPORTED:
            run.created += 1
        else:
            run.updated += 1
        new_links.append(
            CustomerLink(
                connection=connection,
                customer=customer,
                remote_id=record.remote_id,
                remote_code=record.account_number,
                remote_version=record.version,
                remote_updated_at=record.updated_at,
                method=method,
                linked_at=now,
                last_confirmed_at=now,
                remote_deleted=False,
            )
        )
    # A customer whose earlier contact was deleted remotely is relinked to the new match in place.
    CustomerLink.objects.bulk_create(
        new_links,
        update_conflicts=True,
        unique_fields=["connection", "customer"],
        update_fields=list(NEW_LINK_FIELDS),
    )


def _label(record: RemoteCustomer) -> str:
    return record.email.strip() or record.account_number or record.name


def _matches(
    connection: Connection, records: Sequence[RemoteCustomer]
) -> dict[str, tuple[Customer | None, str, str]]:
    """remote id -> (local customer or None, link method, problem sentence or "") for unlinked
    contacts. Reads candidate customers and their links on this connection in two queries."""
    emails = {r.remote_id: normalise_email(r.email) for r in records}
    accounts = {r.remote_id: r.account_number.strip() for r in records}
    wanted = Q(normal_email__in={e for e in emails.values() if e}) | Q(
        normal_account__in={a for a in accounts.values() if a}
    )
    candidates = list(
        Customer.objects.annotate(
            normal_email=Lower(Trim("email")), normal_account=Trim("account_number")
        ).filter(wanted, tenant_id=connection.tenant_id)
    )
    by_email: dict[str, list[Customer]] = defaultdict(list)
    by_account: dict[str, list[Customer]] = defaultdict(list)
    for customer in candidates:
        by_email[customer.normal_email].append(customer)
        by_account[customer.normal_account].append(customer)
    linked = set(
        CustomerLink.objects.filter(
            connection=connection, customer__in=candidates, remote_deleted=False
        ).values_list("customer_id", flat=True)
    )
    page_emails = Counter(e for e in emails.values() if e)
    page_accounts = Counter(a for a in accounts.values() if a)
    name = connection.spec.name
    answers = {}
    for record in records:
        keys = (
            ("email", emails[record.remote_id], page_emails, by_email),
            ("account number", accounts[record.remote_id], page_accounts, by_account),
        )
        answers[record.remote_id] = _decide(name, record, keys, linked)
    return answers


def _decide(name: str, record: RemoteCustomer, keys, linked: set[int]) -> tuple[Customer | None, str, str]:
    """Which local customer one unlinked contact links to (None: import it), or why it cannot."""
    matched: dict[int, tuple[Customer, str]] = {}
    for what, key, in_page, index in keys:
        if not key:
            continue
        local = index.get(key, [])
        if in_page[key] > 1:
            return None, "", f"{in_page[key]} {name} contacts have the {what} {key}; none was linked."
        if len(local) > 1:
            return (
                None,
                "",
                f"{len(local)} customers here have the {what} {key}, "
                f"so the {name} contact {record.name} was not linked.",
            )
        if local:
            matched.setdefault(local[0].pk, (local[0], what))
    if not matched:
        return None, LinkMethod.IMPORTED, ""
    if len(matched) > 1:
        (by_email, _), (by_account, _) = matched.values()
        return (
            None,
            "",
            f"The {name} contact {record.name} matches {by_email.name} by email and "
            f"{by_account.name} by account number; it was not linked.",
        )
    customer, what = next(iter(matched.values()))
    if customer.pk in linked:
        return (
            None,
            "",
            f"{customer.name} is already linked to another {name} contact; "
            f"{record.name}, with the same {what}, was not linked.",
        )
    return customer, MATCH_METHODS[what], ""


def _shared_customer(connection: Connection, records: Sequence[RemoteCustomer]) -> str:
    names = " and ".join(r.name for r in records)
    return f"The {connection.spec.name} contacts {names} match the same customer here; none was linked."


def link_customer_for_sale(*, customer: Customer, connection: Connection) -> CustomerLink:
    """The link of `customer` on `connection`, matching a remote contact by email, then account
    number, or creating one when none exists.

    Two workers posting sales for the same unlinked customer at once must create ONE contact, so
    the lookup and creation are serialised per (connection, customer) with a claim row, as
    `products.ensure_remote_product` does; the stable idempotency key covers the winner's own
    retry after a lost response.
    """
    link = live_link(CustomerLink, connection=connection, target=customer)
    if link:
        return link
    busy = f"A {connection.spec.name} contact for {customer.name} is still being created."
    with claim(
        connection, f"customer:{customer.pk}", ttl=CREATE_CLAIM_TTL, wait=CREATE_CLAIM_WAIT, busy=busy
    ):
        link = live_link(CustomerLink, connection=connection, target=customer)
        if link:
            return link
        connector = connector_for(connection, run=None, priority=Priority.INVOICE)

        def search(key: str, value: str) -> list[RemoteCustomer]:
            return [r for r in connector.find_customer(**{key: value}) if r.active]

        match = _match_contact(connection, customer, search)
        if match:
            return _save_link(connection, customer, *match)
        remote = connector.create_customer(
            _new_contact(customer), idempotency_key=_create_key(connection, customer)
        )
        return _save_link(connection, customer, remote, LinkMethod.CREATED)


@dataclass
class SaleLinks:
    """What linking many customers at once came to, by customer pk: a link, or the error the
    single form would have raised. A customer in neither is left to `link_customer_for_sale`."""

    links: dict[int, CustomerLink] = field(default_factory=dict)
    failures: dict[int, Exception] = field(default_factory=dict)


def link_customers_for_sales(*, customers: Sequence[Customer], connection: Connection) -> SaleLinks:
    """`link_customer_for_sale` for many customers, on a provider that searches and creates many
    in one call: one search for every unlinked customer's email and account number, then one
    create for those it did not find (2 calls for a claim's new customers on Xero, not 2 each).

    The same rules as one at a time: by email, then account number, never by name; an ambiguous
    match fails that customer alone. Each customer is claimed as the single form claims it; one
    another worker holds is left out (the single form waits for it), as is one sharing an email
    or account number with another being created (the single form then finds the first's contact
    and reports the clash). A lost create answer is found by the next search, not created again.
    """
    outcome = SaleLinks()
    spec = connection.spec
    if not (spec.can(Capability.FIND_CUSTOMERS) and spec.can(Capability.CREATE_CUSTOMERS)):
        return outcome
    customers = list({customer.pk: customer for customer in customers}.values())
    outcome.links = _live_links(connection, customers)
    unlinked = [c for c in customers if c.pk not in outcome.links]
    if not unlinked:
        return outcome
    with ExitStack() as claims:
        mine = [c for c in unlinked if _try_claim(claims, connection, c)]
        # Another worker may have linked some between our read and our claim.
        linked_since = _live_links(connection, mine)
        outcome.links.update(linked_since)
        mine = [c for c in mine if c.pk not in linked_since]
        if mine:
            _link_claimed(connection, mine, outcome)
    return outcome


def _live_links(connection: Connection, customers: Sequence[Customer]) -> dict[int, CustomerLink]:
    links = CustomerLink.objects.filter(connection=connection, customer__in=customers, remote_deleted=False)
    return {link.customer_id: link for link in links}


def _try_claim(claims: ExitStack, connection: Connection, customer: Customer) -> bool:
    try:
        claims.enter_context(
            claim(connection, f"customer:{customer.pk}", ttl=CREATE_CLAIM_TTL, wait=0, busy="")
        )
    except TransientError:
        return False
    return True


def _link_claimed(connection: Connection, customers: Sequence[Customer], outcome: SaleLinks) -> None:
    """Search once, link the matches, create the rest in one go; every result into `outcome`."""
    connector = connector_for(connection, run=None, priority=Priority.INVOICE)
    try:
        # Emails as held (a contact we created went with that spelling); the connector ignores case.
        found = connector.find_customers(
            emails=[c.email.strip() for c in customers if c.email.strip()],
            account_numbers=[c.account_number.strip() for c in customers if c.account_number.strip()],
        )
    except ConnectorError as exc:
        outcome.failures.update({c.pk: exc for c in customers})
        return
    by_key: dict[tuple[str, str], list[RemoteCustomer]] = defaultdict(list)
    for remote in found:
        if remote.email.strip():
            by_key["email", normalise_email(remote.email)].append(remote)
        if remote.account_number:
            by_key["account_number", remote.account_number].append(remote)

    to_create: list[Customer] = []
    creating: set[tuple[str, str]] = set()
    for customer in customers:
        try:
            match = _match_contact(connection, customer, lambda key, value: by_key.get((key, value), []))
            if match:
                outcome.links[customer.pk] = _save_link(connection, customer, *match)
                continue
        except AmbiguousCustomer as exc:
            outcome.failures[customer.pk] = exc
            continue
        keys = {
            ("email", normalise_email(customer.email)),
            ("account_number", customer.account_number.strip()),
        }
        keys = {(kind, value) for kind, value in keys if value}
        if keys & creating:
            continue
        creating |= keys
        to_create.append(customer)
    if not to_create:
        return
    try:
        results = connector.create_customers(
            [_new_contact(c) for c in to_create],
            idempotency_keys=[_create_key(connection, c) for c in to_create],
        )
    except ConnectorError as exc:
        outcome.failures.update({c.pk: exc for c in to_create})
        return
    for customer, result in zip(to_create, results, strict=True):
        if not result.ok:
            refused = f"{connection.spec.name} refused {customer.name!r}: {'; '.join(result.errors)}"
            outcome.failures[customer.pk] = ValidationFailed(refused, messages=list(result.errors))
            continue
        try:
            outcome.links[customer.pk] = _save_link(connection, customer, result.customer, LinkMethod.CREATED)
        except AmbiguousCustomer as exc:
            outcome.failures[customer.pk] = exc


def _match_contact(
    connection: Connection, customer: Customer, search: Callable[[str, str], list[RemoteCustomer]]
) -> tuple[RemoteCustomer, str] | None:
    """The live remote contact `customer` is, by email, else by account number (None: there is
    none). `search(key, value)` gives the live contacts whose `key` ("email", "account_number")
    is `value`; it is asked for the account number only when the email finds nobody."""
    email, account = normalise_email(customer.email), customer.account_number.strip()
    for key, value, method, what in (
        ("email", email, LinkMethod.MATCHED_EMAIL, "email"),
        ("account_number", account, LinkMethod.MATCHED_ACCOUNT, "account number"),
    ):
        if not value:
            continue
        found = search(key, value)
        if len(found) > 1:
            raise AmbiguousCustomer(
                f"{len(found)} {connection.spec.name} contacts have the {what} {value}. "
                f"Link {customer.name} to the right one by hand, then post the sale again."
            )
        if found:
            return found[0], method
    return None


def _new_contact(customer: Customer) -> NewCustomer:
    return NewCustomer(
        name=customer.name,
        email=customer.email.strip(),
        account_number=customer.account_number.strip(),
        first_name=customer.first_name,
        last_name=customer.last_name,
        phone=customer.phone,
    )


def _create_key(connection: Connection, customer: Customer) -> str:
    """Stable per (connection, customer): a retry of a lost create is the same request."""
    return f"customer-{connection.pk}-{customer.pk}"


def _save_link(
    connection: Connection, customer: Customer, remote: RemoteCustomer, method: str
) -> CustomerLink:
    link = save_link(
        CustomerLink,
        connection=connection,
        target=customer,
        remote_id=remote.remote_id,
        remote_code=remote.account_number,
        remote_version=remote.version,
        remote_updated_at=remote.updated_at,
        method=method,
    )
    if link is None:
        raise AmbiguousCustomer(
            f"The {connection.spec.name} contact {remote.name} is already linked to another customer "
            f"here, who shares {customer.name}'s details. Link {customer.name} by hand."
        )
    return link


def cash_sale_contact(*, connection: Connection) -> str:
    """The remote contact id sales without a customer go to: the one chosen in the connection's
    settings, else (when the merchant allowed it) a "Cash sales" contact found or created once."""
    if connection.cash_sale_contact_id:
        return connection.cash_sale_contact_id
    if not connection.create_cash_sale_contact:
        raise NoCashSaleContact(
            f"This sale has no customer and {connection.spec.name} needs one. "
            "Choose a cash-sale contact in the connection settings."
        )
    busy = f"The {connection.spec.name} cash-sale contact is still being created."
    with claim(connection, "customer:cash-sales", ttl=CREATE_CLAIM_TTL, wait=CREATE_CLAIM_WAIT, busy=busy):
        connection.refresh_from_db(fields=["cash_sale_contact_id"])
        if connection.cash_sale_contact_id:
            return connection.cash_sale_contact_id
        connector = connector_for(connection, run=None, priority=Priority.INVOICE)
        found = [r for r in connector.find_customer(account_number=CASH_SALE_ACCOUNT) if r.active]
        if found:
            remote_id = found[0].remote_id
        else:
            draft = NewCustomer(name=CASH_SALE_NAME, account_number=CASH_SALE_ACCOUNT)
            remote_id = connector.create_customer(
                draft, idempotency_key=f"cash-sales-{connection.pk}"
            ).remote_id
        Connection.objects.filter(pk=connection.pk).update(cash_sale_contact_id=remote_id)
        connection.cash_sale_contact_id = remote_id
        return remote_id
