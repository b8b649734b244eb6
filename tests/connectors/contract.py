"""Behaviours every connector must show against its provider's emulator (Django `BaseCacheTests`).

A provider's contract test is one line:

    class TestXeroContract(ConnectorContract):
        provider = "xero"

Provider-specific setup lives in the small methods below the fixtures (`new_product`,
`invoice_line`, `revoke_access`, ...); override those, never the tests. Tests for a capability the
provider does not declare are skipped, so each provider runs exactly what it promises.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.base import CAPABILITY_METHODS, Capability, Connector, Page
from connectors.errors import AuthorizationRevoked, ProviderBug, RateLimited, TransientError
from connectors.records import (
    AccountKind,
    InvoiceDraft,
    InvoiceLineDraft,
    NewCustomer,
    NewProduct,
    PaymentDraft,
)
from connectors.registry import get_provider


class ManualClock:
    """The emulators' clock, moved by the test: change feeds are compared to the second."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class ConnectorContract:
    provider: str = ""

    # Fixtures ---------------------------------------------------------------------------------

    @pytest.fixture
    def spec(self):
        return get_provider(self.provider)

    @pytest.fixture
    def clock(self):
        return ManualClock()

    @pytest.fixture
    def emulator(self, start_emulator, clock):
        return start_emulator(self.provider, clock=clock, **self.emulator_options())

    @pytest.fixture
    def connection(self, emulator, connect):
        return connect(emulator, self.provider)

    @pytest.fixture
    def connector(self, connection):
        from connectors.http import connector_for

        return connector_for(connection)

    # Provider-specific setup: override these -------------------------------------------------

    def emulator_options(self) -> dict:
        return {}

    def records_spanning_pages(self, spec) -> int:
        """How many records make the provider answer more than one page."""
        return spec.page_size + 1

    def change_gap_seconds(self) -> float:
        """Clock step between a read and a change, so a feed of second precision tells them apart."""
        return 2

    def new_product(self) -> NewProduct:
        return NewProduct(code="NEW-0001", name="Contract widget", sale_price=Decimal("12.50"))

    def new_customer(self) -> NewCustomer:
        return NewCustomer(name="Contract Customer Ltd", email="contract@example.com", account_number="CC-1")

    def invoice_line(self, product_remote_id: str, product_code: str) -> InvoiceLineDraft:
        return InvoiceLineDraft(
            description="Contract widget",
            quantity=Decimal("2"),
            unit_price=Decimal("12.50"),
            product_remote_id=product_remote_id,
            product_code=product_code,
        )

    def revoke_access(self, emulator) -> None:
        """Do what a merchant does when disconnecting the app on the provider's side."""
        emulator.oauth.revoke_refresh_tokens()

    def any_read(self, connector):
        return connector.pull_products(since=None, page=None)

    # Helpers ------------------------------------------------------------------------------------

    @staticmethod
    def pull_all(pull, since: str | None = None, max_pages: int = 50):
        """Every record of a feed, the cursor it ends on and how many pages it took."""
        records, cursor, token, pages = [], since, None, 0
        while True:
            page: Page = pull(since=since, page=token)
            pages += 1
            records.extend(page.records)
            cursor = page.high_water_mark or cursor
            if page.next_page is None:
                return records, cursor, pages
            assert pages < max_pages, "the feed never reached its last page"
            token = page.next_page

    def require(self, spec, *capabilities: Capability) -> None:
        missing = [c.value for c in capabilities if not spec.can(c)]
        if missing:
            pytest.skip(f"{spec.name} does not declare {', '.join(missing)}")

    # Declaration ------------------------------------------------------------------------------

    def test_declared_capabilities_are_the_methods_overridden(self, spec):
        implemented = {
            capability
            for capability, method in CAPABILITY_METHODS.items()
            if getattr(spec.connector_class, method) is not getattr(Connector, method)
        }
        assert implemented == spec.capabilities - {Capability.WEBHOOKS}

    # Feeds --------------------------------------------------------------------------------------

    def test_pull_products_reads_every_page_to_the_end(self, spec, emulator, connector):
        self.require(spec, Capability.PULL_PRODUCTS)
        count = self.records_spanning_pages(spec)
        emulator.seed(products=count, customers=0)
        records, _, _ = self.pull_all(connector.pull_products)
        expected = {p["code"] for p in emulator.products()}
        assert {r.code for r in records} == expected
        assert len(expected) == count

    def test_pull_customers_reads_every_page_to_the_end(self, spec, emulator, connector):
        self.require(spec, Capability.PULL_CUSTOMERS)
        count = self.records_spanning_pages(spec)
        emulator.seed(products=0, customers=count)
        records, _, pages = self.pull_all(connector.pull_customers)
        assert len({r.remote_id for r in records}) == count
        assert pages >= 2

    def test_since_cursor_returns_only_the_products_changed_after_it(self, spec, emulator, connector, clock):
        self.require(spec, Capability.PULL_PRODUCTS)
        emulator.seed(products=3, customers=0)
        _, cursor, _ = self.pull_all(connector.pull_products)
        assert cursor is not None
        clock.advance(self.change_gap_seconds())
        changed = emulator.products()[1]
        emulator.update_product(changed["remote_id"], name="Renamed in the provider")
        records, next_cursor, _ = self.pull_all(connector.pull_products, since=cursor)
        assert [(r.remote_id, r.name) for r in records] == [(changed["remote_id"], "Renamed in the provider")]
        assert next_cursor != cursor

    def test_since_cursor_with_no_changes_returns_nothing(self, spec, emulator, connector, clock):
        self.require(spec, Capability.PULL_PRODUCTS)
        emulator.seed(products=2, customers=0)
        _, cursor, _ = self.pull_all(connector.pull_products)
        clock.advance(self.change_gap_seconds())
        records, _, _ = self.pull_all(connector.pull_products, since=cursor)
        assert records == []

    def test_deleted_product_is_seen_as_gone(self, spec, emulator, connector, clock):
        emulator.seed(products=3, customers=0)
        ids = [p["remote_id"] for p in emulator.products()]
        _, cursor, _ = self.pull_all(connector.pull_products)
        clock.advance(self.change_gap_seconds())
        emulator.delete_product(ids[0])
        if spec.can(Capability.FIND_PRODUCTS_BY_IDS):
            found = connector.find_products_by_ids(ids)
        else:
            found, _, _ = self.pull_all(connector.pull_products, since=cursor)
        live = {p.remote_id for p in found if p.active and not p.deleted}
        assert ids[0] not in live
        if spec.can(Capability.FIND_PRODUCTS_BY_IDS):
            assert live == set(ids[1:])

    # Lookups and creation ---------------------------------------------------------------------

    def test_find_products_by_code_returns_only_those_codes(self, spec, emulator, connector):
        self.require(spec, Capability.FIND_PRODUCTS_BY_CODE)
        emulator.seed(products=4, customers=0)
        wanted = [p["code"] for p in emulator.products()][1:3]
        found = connector.find_products_by_code(wanted)
        assert sorted(p.code for p in found) == sorted(wanted)

    def test_created_product_is_found_by_its_code(self, spec, emulator, connector):
        self.require(spec, Capability.CREATE_PRODUCT, Capability.FIND_PRODUCTS_BY_CODE)
        emulator.seed(products=1, customers=0)
        product = self.new_product()
        created = connector.create_product(product, idempotency_key=str(uuid.uuid4()))
        assert created.code == product.code
        found = connector.find_products_by_code([product.code])
        assert [p.remote_id for p in found] == [created.remote_id]

    def test_find_customer_matches_email_without_regard_to_case(self, spec, emulator, connector):
        self.require(spec, Capability.FIND_CUSTOMER)
        emulator.add_customer(name="Other Shop", email="other@example.com", account_number="C-2")
        wanted = emulator.add_customer(name="Ann's Shop", email="Ann@Example.com", account_number="C-1")
        found = connector.find_customer(email="ann@example.com")
        assert [c.remote_id for c in found] == [wanted]

    def test_find_customer_matches_account_number(self, spec, emulator, connector):
        self.require(spec, Capability.FIND_CUSTOMER)
        emulator.add_customer(name="Other Shop", email="other@example.com", account_number="C-2")
        wanted = emulator.add_customer(name="Ann's Shop", email="ann@example.com", account_number="C-1")
        found = connector.find_customer(account_number="C-1")
        assert [c.remote_id for c in found] == [wanted]

    def test_created_customer_is_found_by_email(self, spec, emulator, connector):
        self.require(spec, Capability.CREATE_CUSTOMER, Capability.FIND_CUSTOMER)
        customer = self.new_customer()
        created = connector.create_customer(customer, idempotency_key=str(uuid.uuid4()))
        assert created.name == customer.name
        found = connector.find_customer(email=customer.email)
        assert [c.remote_id for c in found] == [created.remote_id]

    def test_find_customers_matches_many_emails_and_account_numbers_in_one_call(
        self, spec, emulator, connector
    ):
        self.require(spec, Capability.FIND_CUSTOMERS)
        emulator.add_customer(name="Other Shop", email="other@example.com", account_number="C-2")
        by_email = emulator.add_customer(name="Ann's Shop", email="ann@example.com")
        by_account = emulator.add_customer(name="Bob's Shop", email="bob@shop.example", account_number="C-1")
        emulator.reset_calls()

        found = connector.find_customers(
            emails=[" Ann@Example.com", "nobody@example.com"], account_numbers=["C-1"]
        )

        assert sorted(c.remote_id for c in found) == sorted([by_email, by_account])
        assert emulator.calls() == 1

    def test_find_customers_splits_more_emails_than_one_url_carries(self, spec, emulator, connector):
        self.require(spec, Capability.FIND_CUSTOMERS)
        emails = [f"customer-with-a-longish-address-{n}@example.com" for n in range(120)]
        wanted = {emulator.add_customer(name=f"Customer {n}", email=email) for n, email in enumerate(emails)}

        found = connector.find_customers(emails=emails)

        assert {c.remote_id for c in found} == wanted

    def test_created_customers_come_back_in_order_and_a_refused_one_fails_alone(
        self, spec, emulator, connector
    ):
        self.require(spec, Capability.CREATE_CUSTOMERS, Capability.FIND_CUSTOMERS)
        emulator.add_customer(name="Taken Name", email="taken@example.com")
        customers = [
            NewCustomer(name="First New", email="first@example.com"),
            NewCustomer(name="Taken Name", email="second@example.com"),
            NewCustomer(name="Third New", account_number="N-3"),
        ]
        emulator.reset_calls()

        results = connector.create_customers(customers, idempotency_keys=["k-1", "k-2", "k-3"])

        assert [r.ok for r in results] == [True, False, True]
        assert [r.customer.name for r in results if r.ok] == ["First New", "Third New"]
        assert emulator.calls() == 1
        found = connector.find_customers(
            emails=["first@example.com", "second@example.com"], account_numbers=["N-3"]
        )
        assert sorted(c.remote_id for c in found) == sorted(r.customer.remote_id for r in results if r.ok)

    def test_posted_invoice_is_found_by_its_reference(self, spec, emulator, connector):
        self.require(spec, Capability.POST_INVOICES, Capability.FIND_INVOICE_BY_REFERENCE)
        emulator.seed(products=1, customers=0)
        product = emulator.products()[0]
        customer_id = emulator.add_customer(name="Buyer", email="buyer@example.com", account_number="B-1")
        draft = InvoiceDraft(
            reference="SALE-1001",
            idempotency_key=str(uuid.uuid4()),
            customer_remote_id=customer_id,
            issued_on=date(2026, 11, 2),
            lines=(self.invoice_line(product["remote_id"], product["code"]),),
        )
        [result] = connector.post_invoices([draft])
        assert result.ok, result.errors
        assert result.reference == "SALE-1001"
        found = connector.find_invoice_by_reference("SALE-1001")
        assert found is not None
        assert found.remote_id == result.invoice.remote_id
        assert [i["reference"] for i in emulator.invoices()] == ["SALE-1001"]

    def test_unknown_invoice_reference_is_not_found(self, spec, emulator, connector):
        self.require(spec, Capability.FIND_INVOICE_BY_REFERENCE)
        assert connector.find_invoice_by_reference("SALE-NEVER-POSTED") is None

    def posted_invoices(self, emulator, connector, references) -> dict[str, str]:
        """Invoices posted under `references`, in the provider's batches: remote id by reference."""
        emulator.seed(products=1, customers=0)
        product = emulator.products()[0]
        customer_id = emulator.add_customer(name="Buyer", email="buyer@example.com")
        drafts = [
            InvoiceDraft(
                reference=reference,
                idempotency_key=str(uuid.uuid4()),
                customer_remote_id=customer_id,
                issued_on=date(2026, 11, 2),
                lines=(self.invoice_line(product["remote_id"], product["code"]),),
            )
            for reference in references
        ]
        results = connector.post_invoices(drafts)
        assert all(result.ok for result in results)
        return {result.reference: result.invoice.remote_id for result in results}

    def test_many_posted_invoices_are_found_by_their_references_at_once(self, spec, emulator, connector):
        self.require(spec, Capability.POST_INVOICES, Capability.FIND_INVOICES_BY_REFERENCE)
        # More references than one URL carries: the connector must split them.
        posted = self.posted_invoices(emulator, connector, [f"SALE-{n}" for n in range(2000, 2120)])

        found = connector.find_invoices_by_reference([*posted, "SALE-NEVER-POSTED"])

        assert {reference: invoice.remote_id for reference, invoice in found.items()} == posted

    def test_a_lost_batch_of_invoices_is_looked_up_in_one_call(self, spec, emulator, connector):
        self.require(spec, Capability.POST_INVOICES, Capability.FIND_INVOICES_BY_REFERENCE)
        batch = [f"SALE-{n}" for n in range(3000, 3000 + spec.invoice_batch_size)]
        self.posted_invoices(emulator, connector, batch[::2])
        emulator.reset_calls()

        found = connector.find_invoices_by_reference(batch)

        assert sorted(found) == sorted(batch[::2])
        assert emulator.calls("GET") == 1

    # Credit notes and payments ------------------------------------------------------------------

    def posted_document(self, emulator, connector, post, reference: str):
        """A draft of 2 x 12.50 to a new contact, posted with `post`; its result and contact id."""
        emulator.seed(products=1, customers=0)
        product = emulator.products()[0]
        customer_id = emulator.add_customer(name=f"Buyer {reference}", email=f"{reference}@example.com")
        draft = InvoiceDraft(
            reference=reference,
            idempotency_key=str(uuid.uuid4()),
            customer_remote_id=customer_id,
            issued_on=date(2026, 11, 2),
            lines=(self.invoice_line(product["remote_id"], product["code"]),),
        )
        [result] = post([draft])
        assert result.ok, result.errors
        return result.invoice, customer_id

    def payment(self, connector, document, customer_id, *, amount="25.00", refund=False) -> PaymentDraft:
        bank = next(a for a in connector.list_accounts() if a.kind == AccountKind.BANK)
        return PaymentDraft(
            reference=f"PAY-{document.reference}",
            idempotency_key=str(uuid.uuid4()),
            document_remote_id=document.remote_id,
            contact_remote_id=customer_id,
            account_code=bank.code,
            amount=Decimal(amount),
            paid_on=date(2026, 11, 2),
            refund=refund,
        )

    def test_posted_credit_note_is_found_by_its_reference(self, spec, emulator, connector):
        self.require(spec, Capability.POST_CREDIT_NOTES, Capability.FIND_CREDIT_NOTE_BY_REFERENCE)
        note, _ = self.posted_document(emulator, connector, connector.post_credit_notes, "REFUND-1")

        found = connector.find_credit_note_by_reference("REFUND-1")

        assert found is not None
        assert (found.remote_id, found.total) == (note.remote_id, Decimal("25.00"))
        assert connector.find_credit_note_by_reference("REFUND-NEVER-POSTED") is None
        assert emulator.invoices() == []

    def test_payment_against_a_posted_invoice_is_recorded_and_found(self, spec, emulator, connector):
        self.require(spec, Capability.POST_PAYMENTS, Capability.FIND_PAYMENT, Capability.LIST_ACCOUNTS)
        invoice, customer_id = self.posted_document(emulator, connector, connector.post_invoices, "SALE-3001")
        draft = self.payment(connector, invoice, customer_id)

        [result] = connector.post_payments([draft])

        assert result.ok, result.errors
        assert connector.find_payment(draft) == result.payment
        assert [(p["document_id"], p["amount"]) for p in emulator.payments()] == [
            (invoice.remote_id, Decimal("25.00"))
        ]

    def test_payments_are_found_for_many_drafts_in_one_call(self, spec, emulator, connector):
        self.require(spec, Capability.POST_PAYMENTS, Capability.FIND_PAYMENTS, Capability.LIST_ACCOUNTS)
        drafts = [
            self.payment(connector, *self.posted_document(emulator, connector, connector.post_invoices, ref))
            for ref in ("SALE-3101", "SALE-3102", "SALE-3103")
        ]
        results = connector.post_payments(drafts[:2])
        emulator.reset_calls()

        found = connector.find_payments(drafts)

        recorded = zip(drafts[:2], results, strict=True)
        assert found == {draft.reference: result.payment for draft, result in recorded}
        assert emulator.calls("GET") == 1

    def test_payment_not_yet_made_is_not_found(self, spec, emulator, connector):
        self.require(spec, Capability.FIND_PAYMENT, Capability.LIST_ACCOUNTS)
        invoice, customer_id = self.posted_document(emulator, connector, connector.post_invoices, "SALE-3002")

        assert connector.find_payment(self.payment(connector, invoice, customer_id)) is None

    def test_payment_above_what_is_outstanding_is_refused(self, spec, emulator, connector):
        self.require(spec, Capability.POST_PAYMENTS, Capability.LIST_ACCOUNTS)
        invoice, customer_id = self.posted_document(emulator, connector, connector.post_invoices, "SALE-3003")

        [result] = connector.post_payments([self.payment(connector, invoice, customer_id, amount="99.00")])

        assert not result.ok
        assert any("outstanding" in message for message in result.errors)
        assert emulator.payments() == []

    def test_refund_is_paid_out_against_its_credit_note(self, spec, emulator, connector):
        self.require(spec, Capability.POST_CREDIT_NOTES, Capability.POST_PAYMENTS, Capability.LIST_ACCOUNTS)
        note, customer_id = self.posted_document(emulator, connector, connector.post_credit_notes, "REFUND-2")

        [result] = connector.post_payments([self.payment(connector, note, customer_id, refund=True)])

        assert result.ok, result.errors
        assert [p["document_id"] for p in emulator.payments()] == [note.remote_id]

    # Accounts and tax rates a mapping is chosen from --------------------------------------------

    def test_accounts_include_a_sales_and_a_bank_account_each_with_a_code(self, spec, connector):
        self.require(spec, Capability.LIST_ACCOUNTS)
        accounts = connector.list_accounts()
        kinds = {account.kind for account in accounts}
        assert {AccountKind.SALES, AccountKind.BANK} <= kinds
        assert all(account.code and account.name for account in accounts)
        assert len({account.code for account in accounts}) == len(accounts)

    def test_tax_rates_each_have_a_code_and_a_name(self, spec, connector):
        self.require(spec, Capability.LIST_TAX_RATES)
        rates = connector.list_tax_rates()
        assert rates
        assert all(rate.code and rate.name for rate in rates)

    def test_invoice_naming_a_listed_sales_account_and_tax_rate_is_accepted(self, spec, emulator, connector):
        self.require(spec, Capability.LIST_ACCOUNTS, Capability.LIST_TAX_RATES, Capability.POST_INVOICES)
        sales = next(a for a in connector.list_accounts() if a.kind == AccountKind.SALES)
        rate = connector.list_tax_rates()[0]
        emulator.seed(products=1, customers=0)
        product = emulator.products()[0]
        line = replace(
            self.invoice_line(product["remote_id"], product["code"]),
            account_code=sales.code,
            tax_code=rate.code,
        )
        draft = InvoiceDraft(
            reference="SALE-2001",
            idempotency_key=str(uuid.uuid4()),
            customer_remote_id=emulator.add_customer(name="Buyer", email="buyer@example.com"),
            issued_on=date(2026, 11, 2),
            lines=(line,),
        )
        [result] = connector.post_invoices([draft])
        assert result.ok, result.errors

    # Typed errors from the emulator's real responses -------------------------------------------

    def test_server_errors_that_persist_raise_transient_error(self, emulator, connector):
        emulator.seed(products=1, customers=1)
        emulator.fail_next(503, times=20)
        with pytest.raises(TransientError):
            self.any_read(connector)

    def test_one_server_error_is_retried_away(self, emulator, connector):
        emulator.seed(products=1, customers=1)
        emulator.fail_next(503)
        assert self.any_read(connector).records
        assert emulator.faults_injected["status"] == 1

    def test_revoked_access_raises_authorization_revoked(self, emulator, connector):
        emulator.seed(products=1, customers=1)
        self.revoke_access(emulator)
        with pytest.raises(AuthorizationRevoked):
            self.any_read(connector)

    def test_malformed_response_raises_provider_bug(self, emulator, connector):
        emulator.seed(products=1, customers=1)
        emulator.malform_next(times=5)
        with pytest.raises(ProviderBug):
            self.any_read(connector)

    def test_long_rate_limit_raises_rate_limited_with_the_providers_time(self, emulator, connector):
        emulator.seed(products=1, customers=1)
        emulator.rate_limit_next(retry_after=3600, times=5)
        with pytest.raises(RateLimited) as raised:
            self.any_read(connector)
        assert raised.value.retry_at > datetime.now(UTC) + timedelta(minutes=50)
