"""`manage.py record_sale --tenant alices-shop --number S-1001 --line SKU-00001:2:12.50
[--line ...] [--customer-email ann@example.com] [--paid --payment-method card] [--refund-of S-1000]`:
record a sale (or a refund of an earlier one) and queue it for every connection that takes invoices."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from invoices.models import Sale
from invoices.services.outbox import NewSaleLine, record_sale
from syncing.models import Customer, Product, Tenant


class Command(BaseCommand):
    help = "Record a sale (as a till would) and queue it for posting."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--number", required=True, help="The sale number, unique per tenant.")
        parser.add_argument(
            "--line", action="append", required=True, metavar="SKU:QTY:PRICE", help="Repeat for each line."
        )
        parser.add_argument("--customer-email", default="", help="Blank for a cash sale.")
        parser.add_argument("--payment-method", default="")
        parser.add_argument("--paid", action="store_true")
        parser.add_argument("--refund-of", default="", metavar="NUMBER", help="The sale this refunds.")

    def handle(self, *args, tenant, number, line, customer_email, payment_method, paid, refund_of, **options):
        try:
            tenant = Tenant.objects.get(slug=tenant)
        except Tenant.DoesNotExist:
            raise CommandError(f"There is no tenant {tenant!r}.") from None
        customer = None
        if customer_email:
            customer = Customer.objects.filter(tenant=tenant, email__iexact=customer_email).first()
            if customer is None:
                raise CommandError(f"{tenant} has no customer with email {customer_email}.")
        refunded = None
        if refund_of:
            refunded = Sale.objects.filter(tenant=tenant, number=refund_of).first()
            if refunded is None:
                raise CommandError(f"{tenant} has no sale numbered {refund_of} to refund.")
        lines = [self._line(tenant, text) for text in line]
        try:
            sale = record_sale(
                tenant=tenant,
                number=number,
                lines=lines,
                customer=customer,
                payment_method=payment_method,
                paid=paid,
                refund_of=refunded,
            )
        except IntegrityError:
            raise CommandError(f"{tenant} already has a sale numbered {number}.") from None
        queued = len(
            {*sale.outbox_entries.values_list("connection_id", flat=True)}
            | {*sale.summary_memberships.values_list("connection_id", flat=True)}
        )
        self.stdout.write(
            f"Sale {sale.number} recorded: total {sale.total}, queued for {queued} connection(s)."
        )

    def _line(self, tenant: Tenant, text: str) -> NewSaleLine:
        sku, _, rest = text.partition(":")
        quantity, _, price = rest.partition(":")
        try:
            product = Product.objects.get(tenant=tenant, sku=sku)
        except Product.DoesNotExist:
            raise CommandError(f"{tenant} has no product with SKU {sku!r}.") from None
        try:
            quantity = Decimal(quantity)
            unit_price = Decimal(price) if price else product.sale_price
        except InvalidOperation:
            raise CommandError(f"Line {text!r} is not SKU:QUANTITY:PRICE.") from None
        if unit_price is None:
            raise CommandError(f"Line {text!r} needs a price: {sku} has no sale price.")
        return NewSaleLine(product=product, quantity=quantity, unit_price=unit_price)
