"""django-q2 entry points for the outbox: load by id, call one service, return a summary.

Provider trouble is recorded on each entry by the service; the task itself never raises for it.
"""

from __future__ import annotations

from django.utils import timezone
from django_q.tasks import async_task

from invoices.selectors import connections_with_due_entries
from invoices.services import notifications, posting
from syncing.models import Connection


def dispatch_due_outbox() -> int:
    """Queue one posting task per active connection with entries due; claims inside the service
    keep two tasks for the same connection from posting an entry twice."""
    connection_ids = connections_with_due_entries(timezone.now())
    for connection_id in connection_ids:
        async_task("invoices.tasks.post_outbox_task", connection_id)
    return len(connection_ids)


def post_outbox_task(connection_id: int) -> dict:
    connection = Connection.objects.select_related("tenant").get(pk=connection_id)
    return posting.post_due_outbox_entries(connection=connection).as_dict()


def send_outbox_digests_task() -> dict:
    return notifications.send_outbox_digests()
