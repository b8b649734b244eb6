"""Emails to a tenant's owners about the outbox: once when an entry first needs attention, once
when it is given up, never per retry; and, when many fail at once, one digest a day instead.

Each email is claimed with a conditional UPDATE of its `*_emailed_at` field (set only where it is
still empty), so two workers failing the same entry at once send it once. A send that fails gives
the claim back, so the next failure of the entry (or the next digest) tries the email again.

A flood of failures (a revoked grant, a closed period, an archived account) must not fill an
inbox: once a tenant has had `OUTBOX_EMAILS_BEFORE_DIGEST` (default 5) outbox emails in 24 hours,
counting the entries a digest listed, further entries are not emailed one by one. Their
`*_emailed_at` stays empty, and the daily digest (`send_outbox_digests`) lists every such entry
in one email per tenant and marks them emailed. The count is read before the claim, so workers
failing entries of one tenant at the same moment may each send one email past the threshold.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone

from invoices.models import OutboxEntry
from syncing.models import Membership, Tenant
from syncing.services.outbound import emit_event, outbox_event

logger = logging.getLogger(__name__)

State = OutboxEntry.State

DIGEST_WINDOW = timedelta(hours=24)
# A digest lists this many entries; the rest are one click away in the dashboard.
DIGEST_LISTED = 50


def emails_before_digest() -> int:
    return settings.OUTBOX_EMAILS_BEFORE_DIGEST


def entry_url(entry: OutboxEntry) -> str:
    return f"{settings.SITE_URL}/outbox/{entry.pk}/"


def notify_needs_attention(entry: OutboxEntry, *, first_time: bool = True) -> bool:
    """Tell the owners the provider refused this sale and what it said. True if an email went.
    Platforms hear of it when the entry comes to need attention, not on each refused retry."""
    if first_time:
        emit_event(entry.connection.tenant_id, "outbox.needs_attention", outbox_event(entry))
    subject = f"{entry.label} needs your attention in {entry.connection.spec.name}"
    return _send_once(entry, "attention_emailed_at", "emails/outbox_needs_attention", subject)


def notify_given_up(entry: OutboxEntry) -> bool:
    """Tell the owners we stopped trying to post this sale. True if an email went."""
    emit_event(entry.connection.tenant_id, "outbox.given_up", outbox_event(entry))
    subject = f"{entry.label} could not be posted to {entry.connection.spec.name}"
    return _send_once(entry, "given_up_emailed_at", "emails/outbox_given_up", subject)


def owner_emails(tenant_id: int) -> list[str]:
    return sorted(
        set(
            Membership.objects.filter(tenant_id=tenant_id, role=Membership.Role.OWNER)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )


def tenant_is_flooded(tenant_id: int, now: datetime) -> bool:
    """Whether the tenant has had enough outbox emails in the last 24 hours that further entries
    wait for the daily digest."""
    since = now - DIGEST_WINDOW
    sent = OutboxEntry.objects.filter(
        Q(attention_emailed_at__gte=since) | Q(given_up_emailed_at__gte=since),
        connection__tenant_id=tenant_id,
    ).aggregate(
        attention=Count("pk", filter=Q(attention_emailed_at__gte=since)),
        given_up=Count("pk", filter=Q(given_up_emailed_at__gte=since)),
    )
    return sent["attention"] + sent["given_up"] >= emails_before_digest()


def _send_once(entry: OutboxEntry, field: str, template: str, subject: str) -> bool:
    if getattr(entry, field) is not None:
        return False
    recipients = owner_emails(entry.connection.tenant_id)
    if not recipients:
        return False
    now = timezone.now()
    if tenant_is_flooded(entry.connection.tenant_id, now):
        return False
    claimed = OutboxEntry.objects.filter(pk=entry.pk, **{f"{field}__isnull": True}).update(**{field: now})
    if not claimed:
        return False
    context = {
        "entry": entry,
        "sale": entry.sale,
        "provider": entry.connection.spec.name,
        "tenant": entry.connection.tenant,
        "message": entry.last_error,
        "provider_messages": entry.provider_messages,
        "url": entry_url(entry),
        "attempts": entry.attempts,
    }
    if not _send(subject, template, context, recipients):
        OutboxEntry.objects.filter(pk=entry.pk).update(**{field: None})
        return False
    setattr(entry, field, now)
    return True


def send_outbox_digests(*, now: datetime | None = None) -> dict[str, int]:
    """Send each tenant one email listing the entries that need attention or were given up and
    have not been emailed about (held back by a flood, or their own email failed), then mark them
    emailed. Example: `send_outbox_digests()` -> {"tenants": 2, "entries": 37}."""
    now = now or timezone.now()
    tenant_ids = (
        _unmailed(OutboxEntry.objects.all())
        .values_list("connection__tenant_id", flat=True)
        .distinct()
        .order_by("connection__tenant_id")
    )
    summary = {"tenants": 0, "entries": 0}
    for tenant in Tenant.objects.filter(pk__in=list(tenant_ids)).order_by("pk"):
        listed = send_digest(tenant=tenant, now=now)
        if listed:
            summary["tenants"] += 1
            summary["entries"] += listed
    return summary


def send_digest(*, tenant: Tenant, now: datetime) -> int:
    """One digest email to `tenant`'s owners; returns how many entries it covered (0: none sent)."""
    recipients = owner_emails(tenant.pk)
    if not recipients:
        return 0
    pending = _unmailed(OutboxEntry.objects.filter(connection__tenant=tenant))
    candidates = dict(pending.values_list("pk", "state"))
    attention_ids = _claim(
        [pk for pk, state in candidates.items() if state == State.NEEDS_ATTENTION],
        "attention_emailed_at",
        now,
    )
    given_up_ids = _claim(
        [pk for pk, state in candidates.items() if state == State.GIVEN_UP], "given_up_emailed_at", now
    )
    count = len(attention_ids) + len(given_up_ids)
    if not count:
        return 0
    context = {
        "tenant": tenant,
        "attention": _listed(attention_ids),
        "attention_count": len(attention_ids),
        "attention_unlisted": max(len(attention_ids) - DIGEST_LISTED, 0),
        "given_up": _listed(given_up_ids),
        "given_up_count": len(given_up_ids),
        "given_up_unlisted": max(len(given_up_ids) - DIGEST_LISTED, 0),
        "outbox_url": f"{settings.SITE_URL}/outbox/",
    }
    subject = f"{count} sale{'' if count == 1 else 's'} from {tenant.name} could not be posted"
    if not _send(subject, "emails/outbox_digest", context, recipients):
        OutboxEntry.objects.filter(pk__in=attention_ids, attention_emailed_at=now).update(
            attention_emailed_at=None
        )
        OutboxEntry.objects.filter(pk__in=given_up_ids, given_up_emailed_at=now).update(
            given_up_emailed_at=None
        )
        return 0
    return count


def _unmailed(queryset):
    return queryset.filter(
        Q(state=State.NEEDS_ATTENTION, attention_emailed_at__isnull=True)
        | Q(state=State.GIVEN_UP, given_up_emailed_at__isnull=True)
    )


def _claim(ids: Sequence[int], field: str, now: datetime) -> list[int]:
    """Mark the entries emailed at `now` where nobody has yet; the ones this call marked."""
    if not ids:
        return []
    OutboxEntry.objects.filter(pk__in=ids, **{f"{field}__isnull": True}).update(**{field: now})
    return list(
        OutboxEntry.objects.filter(pk__in=ids, **{field: now}).order_by("pk").values_list("pk", flat=True)
    )


def _listed(ids: Sequence[int]) -> list[dict]:
    entries = (
        OutboxEntry.objects.filter(pk__in=ids[:DIGEST_LISTED])
        .select_related("sale", "connection", "depends_on__sale")
        .order_by("created_at", "pk")
    )
    return [
        {
            "label": entry.label,
            "connection": _connection_name(entry),
            "message": entry.last_error,
            "url": entry_url(entry),
        }
        for entry in entries
    ]


def _connection_name(entry: OutboxEntry) -> str:
    connection = entry.connection
    org = connection.remote_org_name
    return f"{connection.spec.name} ({org})" if org else connection.spec.name


def _send(subject: str, template: str, context: dict, recipients: list[str]) -> bool:
    email = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        to=recipients,
    )
    email.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    try:
        email.send()
    except Exception:
        logger.exception("Emailing %s failed: %r", recipients, subject)
        return False
    return True
