"""Writing one product or customer link, the same way for both."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from syncing.models import Connection, RemoteLink


def live_link(link_model: type[RemoteLink], *, connection: Connection, target) -> RemoteLink | None:
    """The link of `target` (a Product or Customer) on `connection`, unless its remote record is gone."""
    return link_model.objects.filter(
        connection=connection, remote_deleted=False, **{target._meta.model_name: target}
    ).first()


def save_link(
    link_model: type[RemoteLink],
    *,
    connection: Connection,
    target,
    remote_id: str,
    remote_code: str,
    remote_version: str,
    remote_updated_at: datetime | None,
    method: str,
) -> RemoteLink | None:
    """Link `target` (a Product or Customer) to a remote record, confirmed now. None when another
    local record already holds that remote id: the caller says what a person must decide."""
    now = timezone.now()
    values = {
        "remote_id": remote_id,
        "remote_code": remote_code,
        "remote_version": remote_version,
        "remote_updated_at": remote_updated_at,
        "remote_deleted": False,
        "method": method,
        "linked_at": now,
        "last_confirmed_at": now,
    }
    try:
        with transaction.atomic():
            link, _ = link_model.objects.update_or_create(
                connection=connection, **{target._meta.model_name: target}, defaults=values
            )
    except IntegrityError:
        return None
    return link
