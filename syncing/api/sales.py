"""Sales: recorded once, then carried to every connection that takes invoices (the outbox)."""

from __future__ import annotations

from django.db import IntegrityError
from ninja import Router, Status

from invoices.models import Sale
from invoices.selectors import entries_for_sale
from invoices.services.outbox import NewSaleLine, record_sale
from syncing.api.errors import ERRORS, ApiError, field_error
from syncing.api.schemas import SaleIn, SaleOut
from syncing.api.scoping import one
from syncing.models import Customer, Product

router = Router(tags=["sales"])


def sale_out(sale: Sale) -> dict:
    line_fields = ("description", "quantity", "unit_price", "tax_code", "tax_amount", "discount_rate")
    entry_fields = (
        "kind",
        "reference",
        "business_day",
        "state",
        "attempts",
        "remote_id",
        "remote_number",
        "posted_at",
        "last_error",
        "provider_messages",
    )
    return {
        **{
            name: getattr(sale, name)
            for name in ("number", "sold_at", "customer_id", "currency", "payment_method", "paid")
        },
        **{name: getattr(sale, name) for name in ("subtotal", "tax_total", "total")},
        "id": sale.pk,
        "refund_of": sale.refund_of.number if sale.refund_of else None,
        "lines": [
            {"sku": line.product.sku, **{f: getattr(line, f) for f in line_fields}}
            for line in sale.lines.select_related("product").order_by("pk")
        ],
        "postings": [
            {"connection": entry.connection_id, **{f: getattr(entry, f) for f in entry_fields}}
            for entry in entries_for_sale(sale)
        ],
    }


@router.post("", response={201: SaleOut, **ERRORS})
def create_sale(request, payload: SaleIn):
    """Record a sale; it is posted to each connected provider that takes invoices, once."""
    tenant = request.auth.tenant
    if Sale.objects.filter(tenant=tenant, number=payload.number).exists():
        raise field_error(409, "number", f"Sale {payload.number} already exists.")
    skus = {line.sku for line in payload.lines}
    products = {p.sku: p for p in Product.objects.filter(tenant=tenant, sku__in=skus)}
    unknown = [
        {"field": f"lines.{n}.sku", "message": f"No product with SKU {line.sku}."}
        for n, line in enumerate(payload.lines)
        if line.sku not in products
    ]
    if unknown:
        raise ApiError(422, "The sale names unknown products.", unknown)
    customer = None
    if payload.customer_id is not None:
        customer = Customer.objects.filter(tenant=tenant, pk=payload.customer_id).first()
        if customer is None:
            raise field_error(422, "customer_id", f"No customer {payload.customer_id}.")
    refund_of = None
    if payload.refund_of is not None:
        refund_of = Sale.objects.filter(tenant=tenant, number=payload.refund_of).first()
        if refund_of is None:
            raise field_error(
                422, "refund_of", f"No sale {payload.refund_of} to refund; name a sale already recorded."
            )
    lines = [NewSaleLine(product=products[line.sku], **line.dict(exclude={"sku"})) for line in payload.lines]
    try:
        sale = record_sale(
            tenant=tenant,
            number=payload.number,
            lines=lines,
            customer=customer,
            sold_at=payload.sold_at,
            payment_method=payload.payment_method,
            paid=payload.paid,
            refund_of=refund_of,
        )
    except IntegrityError:  # the same number recorded by a concurrent request
        raise field_error(409, "number", f"Sale {payload.number} already exists.") from None
    return Status(201, sale_out(sale))


@router.get("/{int:sale_id}", response={200: SaleOut, **ERRORS})
def get_sale(request, sale_id: int):
    """The sale and, per connection, where posting it has got to."""
    return sale_out(one(Sale.objects.filter(tenant=request.auth.tenant).select_related("refund_of"), sale_id))
