"""Emails to a tenant's owners about the outbox: once when an entry first needs attention, once
when it is given up, never per retry.

Each email is claimed with a conditional UPDATE of its `*_emailed_at` field (set only where it is
still empty), so two workers failing the same entry at once send it once. A send that fails gives
the claim back, so the next failure of the entry tries the email again.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from invoices.models import OutboxEntry
from syncing.models import Membership

logger = logging.getLogger(__name__)


def entry_url(entry: OutboxEntry) -> str:
    return f"{settings.SITE_URL}/outbox/{entry.pk}/"


def notify_needs_attention(entry: OutboxEntry) -> bool:
    """Tell the owners the provider refused this sale and what it said. True if an email went."""
    subject = f"Sale {entry.sale.number} needs your attention in {entry.connection.spec.name}"
    return _send_once(entry, "attention_emailed_at", "emails/outbox_needs_attention", subject)


def notify_given_up(entry: OutboxEntry) -> bool:
    """Tell the owners we stopped trying to post this sale. True if an email went."""
    subject = f"Sale {entry.sale.number} could not be posted to {entry.connection.spec.name}"
    return _send_once(entry, "given_up_emailed_at", "emails/outbox_given_up", subject)


def owner_emails(entry: OutboxEntry) -> list[str]:
    return sorted(
        set(
            Membership.objects.filter(tenant_id=entry.sale.tenant_id, role=Membership.Role.OWNER)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )


def _send_once(entry: OutboxEntry, field: str, template: str, subject: str) -> bool:
    recipients = owner_emails(entry)
    if not recipients:
        return False
    now = timezone.now()
    claimed = OutboxEntry.objects.filter(pk=entry.pk, **{f"{field}__isnull": True}).update(**{field: now})
    if not claimed:
        return False
    context = {
        "entry": entry,
        "sale": entry.sale,
        "provider": entry.connection.spec.name,
        "tenant": entry.sale.tenant,
        "message": entry.last_error,
        "provider_messages": entry.provider_messages,
        "url": entry_url(entry),
        "attempts": entry.attempts,
    }
    email = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        to=recipients,
    )
    email.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    try:
        email.send()
    except Exception:
        OutboxEntry.objects.filter(pk=entry.pk).update(**{field: None})
        logger.exception("Emailing the owners about outbox entry %s failed", entry.pk)
        return False
    setattr(entry, field, now)
    return True
