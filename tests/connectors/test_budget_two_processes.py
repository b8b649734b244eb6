"""The budget is exact across OS processes: two workers racing for the last calls of a window
together spend exactly the limit, never one more."""

import subprocess
import sys
import textwrap

import pytest
from django.conf import settings
from django.db import connection as db

from connectors.base import Window
from syncing.models import BudgetWindow
from tests import factories

LIMIT = 50
ATTEMPTS_PER_PROCESS = 40

# Each child opens the parent's test database, says "ready", waits for "go" so both race for the
# same calls, then prints how many it spent.
CHILD = textwrap.dedent(
    """
    import sys
    import django

    db_name, connection_id, attempts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    django.setup()
    from django.db import connections

    connections["default"].settings_dict["NAME"] = db_name

    from connectors import budget
    from connectors.base import Priority
    from connectors.errors import BudgetExhausted
    from syncing.models import Connection

    def never_sleep(seconds):
        raise AssertionError(f"the month window must not wait ({seconds} s)")

    connection = Connection.objects.select_related("tenant").get(pk=connection_id)
    print("ready", flush=True)
    sys.stdin.readline()
    spent = 0
    for _ in range(attempts):
        try:
            budget.spend(connection, Priority.INVOICE, sleep=never_sleep)
        except BudgetExhausted:
            continue
        spent += 1
    print(spent, flush=True)
    """
)


@pytest.mark.django_db(transaction=True)
def test_two_processes_together_spend_exactly_the_limit():
    connection = factories.ConnectionFactory(monthly_call_limit=LIMIT)
    args = [db.settings_dict["NAME"], str(connection.pk), str(ATTEMPTS_PER_PROCESS)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            cwd=settings.BASE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready"
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        spent = [int(worker.communicate(timeout=60)[0].strip()) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()

    assert sum(spent) == LIMIT
    assert BudgetWindow.objects.get(connection=connection, kind=Window.MONTH).used == LIMIT
