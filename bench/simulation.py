"""A simulated trading month against the emulators: the engine of `bench/month.py` and of the
reduced run in `tests/e2e/test_trading_month.py`.

One controllable clock (time-machine, ticking at real speed between jumps) is shared by Django and
the emulators, which run as threads of this process and speak real HTTP on loopback. Every
simulated minute the clock jumps to the minute, the day's remote changes and local sales that fall
in it are applied, and then what django-q2 would do happens in this process: the real dispatchers
(`dispatch_due_syncs`, `dispatch_due_outbox`, and `mark_stalled_runs_task` every five minutes) put
tasks on the real ORM broker queue, and a worker loop here takes each task off the queue and runs
it. Lightspeed product and inventory changes are also delivered as signed webhooks to the real
webhook endpoint, served by Django on loopback.

Under `chaos`, every emulator draws faults per request (5xx, timeouts, writes whose answer is lost
after the write, bursts of 429), Xero's refresh token is revoked on day 12 and the merchant
reconnects through the consent page on day 13, and the worker is killed 20 times: at 20 random
moments the next provider request a task makes is answered and the worker dies on the answer,
mid-page, before it can use what it read. Each task runs in a worker process forked for it (as a
django-q2 cluster runs tasks outside the process that queues them), and a kill is a SIGKILL: no
`finally`, no rollback but the database's own, claims and RUNNING runs left behind for the claim
and stalled-run expiries to recover. The forked worker inherits the shared clock; what it emails
reaches the month's outbox through a file. That needs PostgreSQL: SQLite's library keeps locks in
the process, and a fork taken while another thread of this one (the webhook endpoint) holds one
leaves the worker waiting on it forever. On SQLite the task runs in this process and the kill is
`WorkerKilled` raised into its thread (`PyThreadState_SetAsyncExc`): a BaseException, so the
services' `except Exception` cannot swallow it.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import random
import signal
import statistics
import tempfile
import threading
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import time_machine
from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.servers.basehttp import ThreadedWSGIServer
from django.core.wsgi import get_wsgi_application
from django.db import connection as db_connection
from django.db import connections
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.brokers import get_broker
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from django_q.tasks import async_task

from connectors import http as provider_http
from connectors.emulation import serve
from connectors.emulation.app import Fault

# Day 0 (the last day of February) connects and imports; days 1.. are the month, so the Xero plan's
# calendar-month window holds exactly the simulated month.
START = datetime(2026, 2, 28, tzinfo=UTC)
REDIRECT_URI = "http://127.0.0.1/connect/callback"
# A request that times out waits this long on the client; the emulator answers a little later.
READ_TIMEOUT = 1.5
POSTING_PURPOSES = {"post invoices", "find invoice by reference", "post sale", "find sale"}
# Token requests go to the provider's sign-in service, are not spent from the budget and count
# against no API limit: reported on their own, outside the month's API calls.
SIGN_IN = "sign-in"
# Paths faults are never drawn on: the consent pages the script itself presses, and token refresh
# (a failed refresh is the revoked-token scenario, played out on its own day).
QUIET_PATHS = ("/connect", "/identity/", "/api/1.0/token")


class WorkerKilled(BaseException):
    """Raised into the worker thread on a provider's answer: the worker died there."""


class ParentMailbox(BaseEmailBackend):
    """A forked worker's email backend: each message is written to the file its parent reads, as
    it is sent, so a worker killed later in the task has still sent it."""

    path: Path | None = None

    def send_messages(self, messages) -> int:
        with open(self.path, "a") as channel:
            for message in messages:
                channel.write(json.dumps({"email": [message.subject, message.body, message.to]}) + "\n")
        return len(messages)


@dataclass
class Plan:
    days: int = 30
    products: int = 10_000
    customers: int = 5_000
    product_change_share: float = 0.02
    stock_move_share: float = 0.05
    new_remote_customers: int = 50
    sales: int = 300
    cash_share: float = 0.10
    new_customer_share: float = 0.20
    new_product_share: float = 0.01
    xero_monthly_plan: int = 5_000
    chaos: bool = False
    kills: int = 20
    revoke_day: int = 12
    server_error_rate: float = 0.05
    timeout_rate: float = 0.02
    lost_write_rate: float = 0.01
    burst_rate: float = 0.002
    seed: int = 8
    # Quiet hours after the last day, so the last changes arrive and the last held batch (the outbox
    # holds a filling batch up to 6 hours, `invoices.services.pacing`) posts before judging.
    settle_hours: int = 7
    # The connections' poll interval; None keeps the product's default.
    poll_interval: timedelta | None = None


class Chaos:
    """Per-request fault draws for one emulator, and the worker-kill trigger shared by all."""

    def __init__(self, plan: Plan, rng: random.Random, month: TradingMonth) -> None:
        self.plan, self.rng, self.month = plan, rng, month
        self.burst_left: dict[str, int] = defaultdict(int)

    def source(self, name: str):
        def draw(request) -> Fault | None:
            if request.path.startswith(QUIET_PATHS):
                return None
            if self.month.kill_due(request):
                return Fault("worker_killed")
            with self.month.rng_lock:
                if self.burst_left[name]:
                    self.burst_left[name] -= 1
                    return Fault("rate_limit", seconds=1)
                roll = self.rng.random()
                if roll < self.plan.burst_rate:
                    self.burst_left[name] = self.rng.randint(2, 5)
                    return Fault("rate_limit", seconds=1)
                roll = self.rng.random()
                if roll < self.plan.server_error_rate:
                    return Fault("status", status=self.rng.choice([500, 502, 503]))
                if roll < self.plan.server_error_rate + self.plan.timeout_rate:
                    return Fault("delay", seconds=READ_TIMEOUT + 0.3)
                if request.method != "GET" and self.rng.random() < self.plan.lost_write_rate:
                    return Fault("lose_response")
            return None

        return draw


class TradingMonth:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.rng_lock = threading.Lock()
        self.worker_thread = threading.get_ident()
        self.worker_pid: int | None = None
        self.in_task = False
        self.kill_times: list[datetime] = []
        self.kills = 0
        self.crashes: list[str] = []
        self.pending: dict[tuple, dict] = {}
        self.freshness: dict[str, list[float]] = defaultdict(list)
        self.sale_serial = 0
        self.customer_serial = 0
        self.product_serial = 0
        self.emails_at_revoke = 0
        self.events: Counter[str] = Counter()
        self.next_wake = START
        # Connection key -> the longest poll interval pacing set, sampled every simulated hour.
        self.longest_poll_interval: dict[str, timedelta] = {}

    # Set-up ---------------------------------------------------------------------------------

    def start(self) -> None:
        from django.contrib.auth import get_user_model

        from bench._setup import connected_emulator
        from syncing.models import Connection, Membership, Tenant

        mail.outbox = []
        self.tenant = Tenant.objects.create(
            name="Month Trading Co", slug="month-trading", monthly_call_allowance=10**9
        )
        # The merchant who is emailed when something needs them.
        owner = get_user_model().objects.create_user("owner", email="owner@month-trading.example")
        Membership.objects.create(user=owner, tenant=self.tenant, role=Membership.Role.OWNER)
        self.xero, self.xero_server, self.xero_conn = connected_emulator(
            self.tenant, "xero", products=self.plan.products
        )
        self.vend, self.vend_server, self.vend_conn = connected_emulator(
            self.tenant, "vend", products=self.plan.products
        )
        for app in (self.xero, self.vend):
            app.seed(customers=self.plan.customers)
        # Product tax codes come from Lightspeed, the catalogue source: the merchant maps
        # Lightspeed's tax to Xero's, or Xero refuses every invoice line.
        Connection.objects.filter(pk=self.xero_conn.pk).update(
            monthly_call_limit=self.plan.xero_monthly_plan,
            sales_account_code="200",
            tax_rate_map={self.vend.tax_id: "OUTPUT2"},
        )
        Connection.objects.filter(pk=self.vend_conn.pk).update(monthly_call_limit=None)
        if self.plan.poll_interval:
            Connection.objects.filter(tenant=self.tenant).update(poll_interval=self.plan.poll_interval)
        self.xero_conn.refresh_from_db()
        self.vend_conn.refresh_from_db()
        # Django's own threaded server, as its live test server uses: each request's thread closes
        # its database connections, which would otherwise outlive it until a garbage collection.
        self.web = serve(get_wsgi_application(), server_class=ThreadedWSGIServer)
        self.webhook_url = f"{self.web.url}/webhooks/vend/{self.vend_conn.webhook_token}/"
        self.broker = get_broker()
        self.forking = db_connection.vendor == "postgresql"
        self.channel = Path(tempfile.mkdtemp(prefix="month-worker-")) / "channel.jsonl"
        if self.plan.chaos:
            chaos = Chaos(self.plan, random.Random(self.plan.seed + 1), self)
            self.xero.fault_source = chaos.source("xero")
            self.vend.fault_source = chaos.source("vend")
            moments = sorted(self.rng.uniform(1, self.plan.days + 1) for _ in range(self.plan.kills))
            self.kill_times = [START + timedelta(days=day) for day in moments]
            # Every timeout costs real seconds: the client gives up sooner than production's 30 s.
            self.production_timeout, provider_http.TIMEOUT = provider_http.TIMEOUT, (5, READ_TIMEOUT)

    def stop(self) -> None:
        for server in (self.xero_server, self.vend_server, self.web):
            server.stop()
        if self.plan.chaos:
            provider_http.TIMEOUT = self.production_timeout

    # The worker ---------------------------------------------------------------------------

    def kill_due(self, request) -> bool:
        """Called by an emulator thread: kill the worker on this answer when a kill moment passed."""
        if not (self.in_task and self.kill_times and self.kill_times[0] <= timezone.now()):
            return False
        if self.forking and self.worker_pid is None:
            return False
        self.kill_times.pop(0)
        self.kills += 1
        if self.forking:
            os.kill(self.worker_pid, signal.SIGKILL)
        else:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self.worker_thread), ctypes.py_object(WorkerKilled)
            )
        return True

    def drain(self) -> int:
        """Run every queued task, as a django-q2 worker would; a killed task is not retried
        (Q_CLUSTER max_attempts=1)."""
        ran = 0
        # The queue's own rows, oldest first: the broker's dequeue() sleeps a second when the queue
        # is empty and reconnects to the database on every call, which 43,200 ticks cannot afford.
        while queued := OrmQ.objects.filter(key=self.broker.list_key).order_by("pk").first():
            task = SignedPackage.loads(queued.payload)
            queued.delete()
            self.run_task(task)
            ran += 1
        return ran

    def run_task(self, task: dict) -> None:
        func = task["func"]
        func = import_string(func) if isinstance(func, str) else func
        args, kwargs = task.get("args", ()), task.get("kwargs", {})
        self.in_task = True
        try:
            if self.forking:
                self.run_in_worker_process(func, args, kwargs)
            else:
                func(*args, **kwargs)
        except WorkerKilled:
            pass
        except Exception:
            self.crashes.append(traceback.format_exc(limit=4))
        finally:
            self.in_task = False

    def run_in_worker_process(self, func, args, kwargs) -> None:
        """Run one task in a forked worker and wait for it to end or be killed."""
        # The worker opens its own database connections: one shared across a fork is corrupted.
        connections.close_all()
        self.channel.write_text("")
        pid = os.fork()
        if pid == 0:
            settings.EMAIL_BACKEND = f"{ParentMailbox.__module__}.{ParentMailbox.__qualname__}"
            ParentMailbox.path = self.channel
            try:
                func(*args, **kwargs)
            except Exception:
                with open(self.channel, "a") as channel:
                    channel.write(json.dumps({"crash": traceback.format_exc(limit=4)}) + "\n")
            finally:
                # Straight out: the parent's threads, atexit hooks and connections are not ours.
                os._exit(0)
        self.worker_pid = pid
        try:
            _, status = os.waitpid(pid, 0)
        finally:
            self.worker_pid = None
        for line in self.channel.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by the kill
            if "email" in record:
                subject, body, to = record["email"]
                mail.outbox.append(mail.EmailMessage(subject, body, to=to))
            else:
                self.crashes.append(record["crash"])
        if os.WIFEXITED(status) and os.WEXITSTATUS(status):
            self.crashes.append(f"worker exited with status {os.WEXITSTATUS(status)}")

    def tick(self, minute: int, busy: bool) -> None:
        """One minute of the schedules: both dispatchers every minute, stalled runs every five.
        A minute before anything can be due (no event, nothing scheduled) is skipped: the
        dispatchers would find nothing, and skipping them keeps a month within minutes."""
        from invoices.tasks import dispatch_due_outbox
        from syncing.tasks import dispatch_due_syncs, mark_stalled_runs_task

        if minute % 5 == 0:
            async_task(mark_stalled_runs_task)
        elif not busy and timezone.now() < self.next_wake:
            return
        dispatch_due_syncs()
        dispatch_due_outbox()
        if self.drain():
            self.observe()
        self.next_wake = self.wake_time()

    def wake_time(self) -> datetime:
        """The earliest moment a dispatcher can find work: a poll, sweep or outbox entry due."""
        from invoices.models import OutboxEntry
        from invoices.services.posting import DUE_STATES
        from syncing.models import Connection

        active = Connection.objects.filter(status=Connection.Status.ACTIVE)
        if active.filter(Q(next_poll_at__isnull=True) | Q(next_sweep_at__isnull=True)).exists():
            return timezone.now()
        moments = [
            *active.aggregate(poll=Min("next_poll_at"), sweep=Min("next_sweep_at")).values(),
            OutboxEntry.objects.filter(state__in=DUE_STATES).aggregate(at=Min("next_attempt_at"))["at"],
            OutboxEntry.objects.filter(state=OutboxEntry.State.IN_FLIGHT).aggregate(at=Min("claimed_until"))[
                "at"
            ],
        ]
        return min((moment for moment in moments if moment), default=timezone.now() + timedelta(days=1))

    # The day's events ---------------------------------------------------------------------

    def day_events(self, day_start: datetime) -> list[tuple[datetime, str, object]]:
        plan, rng = self.plan, self.rng
        vend_ids = list(self.vend.product_records)
        outlets = list(self.vend.outlets)
        events = []

        def at() -> datetime:
            return day_start + timedelta(seconds=rng.uniform(0, 86_400))

        for remote_id in rng.sample(vend_ids, round(len(vend_ids) * plan.product_change_share)):
            events.append((at(), "product", remote_id))
        for remote_id in rng.sample(vend_ids, round(len(vend_ids) * plan.stock_move_share)):
            events.append((at(), "stock", (remote_id, rng.choice(outlets))))
        for n in range(plan.new_remote_customers):
            events.append((at(), "customer", "xero" if n % 2 else "vend"))
        for _ in range(plan.sales):
            events.append((at(), "sale", None))
        events.sort(key=lambda event: event[0])
        return events

    def apply(self, kind: str, subject) -> None:
        self.events[kind] += 1
        if kind == "product":
            self.change_product(subject)
        elif kind == "stock":
            self.move_stock(*subject)
        elif kind == "customer":
            self.add_remote_customer(subject)
        else:
            self.record_sale()

    def change_product(self, remote_id: str) -> None:
        record = self.vend.product_records[remote_id]
        if self.rng.random() < 0.5:
            price = (Decimal(str(record["price_excluding_tax"])) + Decimal("0.50")).quantize(Decimal("0.01"))
            self.vend.update_product(remote_id, price=price)
        else:
            self.vend.update_product(
                remote_id, name=f"{record['name'].split(' (')[0]} ({self.rng.randint(1, 10**6)})"
            )
        self.pending[("product", remote_id)] = {"at": timezone.now(), "webhook": True}
        self.webhook("product.update", self.vend.product_webhook_payload(remote_id))

    def move_stock(self, remote_id: str, outlet_id: str) -> None:
        level = Decimal(str(self.vend.inventory[(remote_id, outlet_id)]["inventory_level"]))
        self.vend.set_stock(
            remote_id, outlet_id, max(level + self.rng.choice([-3, -2, -1, 4, 6, 12]), Decimal(0))
        )
        self.pending[("stock", remote_id, outlet_id)] = {"at": timezone.now(), "webhook": True}
        self.webhook("inventory.update", self.vend.inventory_webhook_payload(remote_id, outlet_id))

    def webhook(self, kind: str, payload: dict) -> None:
        answer = self.vend.send_webhook(self.webhook_url, kind, payload)
        if answer.status_code >= 300:
            self.crashes.append(f"webhook {kind} answered {answer.status_code}: {answer.text[:200]}")
        if self.drain():
            self.observe()

    def add_remote_customer(self, provider: str) -> None:
        self.customer_serial += 1
        n = self.customer_serial
        app = self.xero if provider == "xero" else self.vend
        remote_id = app.add_customer(
            name=f"Remote Customer {n:05d}", email=f"remote{n:05d}@example.net", account_number=f"RC{n:05d}"
        )
        connection = self.xero_conn if provider == "xero" else self.vend_conn
        self.pending[("customer", connection.pk, remote_id)] = {"at": timezone.now(), "webhook": False}

    def record_sale(self) -> None:
        from invoices.services.outbox import NewSaleLine, record_sale
        from syncing.models import Customer, Product

        rng = self.rng
        self.sale_serial += 1
        roll = rng.random()
        customer = None
        if roll >= self.plan.cash_share:
            if roll < self.plan.cash_share + self.plan.new_customer_share:
                self.customer_serial += 1
                n = self.customer_serial
                customer = Customer.objects.create(
                    tenant=self.tenant, name=f"Walk-in {n:05d}", email=f"walkin{n:05d}@example.org"
                )
            else:
                customer = rng.choice(self.known_customers)
        products = list(
            Product.objects.filter(tenant=self.tenant, sku__in=rng.sample(self.known_skus, rng.randint(1, 3)))
        )
        if rng.random() < self.plan.new_product_share:
            self.product_serial += 1
            products.append(
                Product.objects.create(
                    tenant=self.tenant,
                    sku=f"NEW-{self.product_serial:05d}",
                    name=f"New line {self.product_serial:05d}",
                    sale_price=Decimal("9.99"),
                )
            )
        lines = [
            NewSaleLine(
                product=p, quantity=Decimal(rng.randint(1, 3)), unit_price=p.sale_price or Decimal("1.00")
            )
            for p in products
        ]
        record_sale(tenant=self.tenant, number=f"S-{self.sale_serial:06d}", lines=lines, customer=customer)

    # Freshness ------------------------------------------------------------------------------

    def observe(self) -> None:
        """Record, for every remote change now visible locally, how long it took."""
        from syncing.models import CustomerLink, Product, StockLevel

        if not self.pending:
            return
        now = timezone.now()
        by_kind = defaultdict(list)
        for key in self.pending:
            by_kind[key[0]].append(key)
        seen = []
        if by_kind["product"]:
            ids = [key[1] for key in by_kind["product"]]
            local = {
                remote_id: (name, price)
                for remote_id, name, price in Product.objects.filter(
                    links__connection=self.vend_conn, links__remote_id__in=ids
                ).values_list("links__remote_id", "name", "sale_price")
            }
            for key in by_kind["product"]:
                record = self.vend.product_records[key[1]]
                wanted = (record["name"], Decimal(str(record["price_excluding_tax"])))
                if key[1] in local and (local[key[1]][0], local[key[1]][1]) == wanted:
                    seen.append(key)
        if by_kind["stock"]:
            ids = [key[1] for key in by_kind["stock"]]
            outlet_names = {oid: outlet["name"] for oid, outlet in self.vend.outlets.items()}
            local = {
                (remote_id, location): quantity
                for remote_id, location, quantity in StockLevel.objects.filter(
                    product__links__connection=self.vend_conn, product__links__remote_id__in=ids
                ).values_list("product__links__remote_id", "location__name", "quantity")
            }
            for key in by_kind["stock"]:
                wanted = Decimal(str(self.vend.inventory[(key[1], key[2])]["inventory_level"]))
                if local.get((key[1], outlet_names[key[2]])) == wanted:
                    seen.append(key)
        if by_kind["customer"]:
            linked = set(
                CustomerLink.objects.filter(
                    remote_id__in=[key[2] for key in by_kind["customer"]]
                ).values_list("connection_id", "remote_id")
            )
            seen += [key for key in by_kind["customer"] if (key[1], key[2]) in linked]
        for key in seen:
            change = self.pending.pop(key)
            route = "webhook" if change["webhook"] else f"poll:{key[0]}"
            self.freshness[route].append((now - change["at"]).total_seconds())

    # Chaos days -------------------------------------------------------------------------------

    def revoke_xero(self) -> None:
        self.emails_at_revoke = len(mail.outbox)
        self.xero.oauth.revoke_refresh_tokens()
        self.events["refresh_token_revoked"] += 1

    def reconnect_xero(self) -> None:
        from syncing.services.demo import authorise_through_consent

        self.xero_conn.refresh_from_db()
        authorise_through_consent(self.xero_conn, redirect_uri=REDIRECT_URI)
        self.events["reconnected"] += 1

    # The month ------------------------------------------------------------------------------

    def run(self, progress=None) -> dict:
        with time_machine.travel(START, tick=True) as traveller:
            self.traveller = traveller
            self.start()
            try:
                self.run_days(progress)
                return self.report()
            finally:
                self.stop()

    def run_days(self, progress) -> None:
        from syncing.models import Customer, Product

        # Day 0: the connections are new, so the first ticks import everything.
        self.run_minutes(START, 24 * 60, [])
        self.known_customers = list(
            Customer.objects.filter(tenant=self.tenant, links__isnull=False).distinct()
        )
        self.known_skus = list(
            Product.objects.filter(tenant=self.tenant, links__connection=self.vend_conn).values_list(
                "sku", flat=True
            )
        )
        self.imported = {"products": len(self.known_skus), "customers": len(self.known_customers)}
        for day in range(1, self.plan.days + 1):
            day_start = START + timedelta(days=day)
            events = self.day_events(day_start)
            # revoke_day 0: no revocation.
            if self.plan.chaos and day == self.plan.revoke_day:
                events.append((day_start + timedelta(hours=9), "revoke", None))
            if self.plan.chaos and day == self.plan.revoke_day + 1:
                events.append((day_start + timedelta(hours=9), "reconnect", None))
            events.sort(key=lambda event: event[0])
            self.run_minutes(day_start, 24 * 60, events)
            if progress:
                progress(day, self)
        end = START + timedelta(days=self.plan.days + 1)
        self.run_minutes(end, self.plan.settle_hours * 60, [])

    def run_minutes(self, start: datetime, minutes: int, events: list) -> None:
        for minute in range(minutes):
            moment = start + timedelta(minutes=minute)
            if moment > timezone.now():
                self.traveller.move_to(moment)
            if moment.minute == 0:
                self.sample_poll_intervals()
            busy = False
            while events and events[0][0] <= moment + timedelta(minutes=1):
                busy = True
                _, kind, subject = events.pop(0)
                if kind == "revoke":
                    self.revoke_xero()
                elif kind == "reconnect":
                    self.reconnect_xero()
                else:
                    self.apply(kind, subject)
            self.tick(minute, busy)

    def sample_poll_intervals(self) -> None:
        """Keep the longest interval the schedule would set now: the freshness target follows
        the interval in force, which pacing stretches when a plan runs short."""
        from syncing.selectors import effective_poll_interval

        for key, connection in (("xero", self.xero_conn), ("vend", self.vend_conn)):
            interval = effective_poll_interval(connection)
            self.longest_poll_interval[key] = max(interval, self.longest_poll_interval.get(key, interval))

    # Report ---------------------------------------------------------------------------------

    def report(self) -> dict:
        from invoices.models import OutboxEntry, Sale
        from syncing.models import ApiCall

        connections = {"xero": self.xero_conn, "vend": self.vend_conn}
        per_day: dict[str, dict[int, Counter]] = {key: defaultdict(Counter) for key in connections}
        by_purpose: dict[str, Counter] = {key: Counter() for key in connections}
        for key, connection in connections.items():
            calls = ApiCall.objects.filter(connection=connection).values_list(
                "at", "purpose", "run__kind", "run__trigger"
            )
            for at, purpose, kind, trigger in calls:
                day = min((at - START).days, self.plan.days + 1)
                per_day[key][day][_job(purpose, kind, trigger)] += 1
                if 1 <= day <= self.plan.days:
                    by_purpose[key][purpose] += 1
        month_days = range(1, self.plan.days + 1)
        calls = {}
        for key, days in per_day.items():
            month = Counter()
            for day in month_days:
                month.update(days.get(day, Counter()))
            api = _api_calls(month)
            calls[key] = {
                "import_day_0": sum(days.get(0, Counter()).values()),
                "month": dict(month),
                "month_total": api,
                "month_by_purpose": dict(by_purpose[key].most_common()),
                "per_day_mean": round(api / self.plan.days, 1),
                "per_day_max": max((_api_calls(days.get(d, Counter())) for d in month_days), default=0),
                "per_day": {d: dict(days.get(d, Counter())) for d in month_days},
            }
        bound = self.lower_bound()
        ours = sum(c["month_total"] for c in calls.values())
        sales = Sale.objects.filter(tenant=self.tenant)
        entries = OutboxEntry.objects.filter(sale__tenant=self.tenant)
        invoices = {}
        for key, app in (("xero", self.xero), ("vend", self.vend)):
            remote = Counter(invoice["reference"] for invoice in app.invoices())
            connection_entries = entries.filter(connection=connections[key])
            posted = connection_entries.filter(state=OutboxEntry.State.POSTED)
            delays = [
                (entry.posted_at - entry.sale.sold_at).total_seconds()
                for entry in posted.select_related("sale").only("posted_at", "sale__sold_at")
            ]
            numbers = set(sales.values_list("number", flat=True))
            # Still on its way: an entry that will be tried again (waiting for a budget, a retry).
            waiting = set(
                connection_entries.exclude(
                    state__in=[
                        OutboxEntry.State.POSTED,
                        OutboxEntry.State.GIVEN_UP,
                        OutboxEntry.State.CANCELLED,
                    ]
                ).values_list("sale__number", flat=True)
            )
            invoices[key] = {
                "sales": len(numbers),
                "posted": posted.count(),
                "duplicates_remote": sum(count - 1 for count in remote.values() if count > 1),
                "duplicated_references": sorted(
                    reference for reference, count in remote.items() if count > 1
                ),
                # Not at the provider and never going to be: no entry, given up, or posted yet absent.
                "lost": len(numbers - set(remote) - waiting),
                "waiting": len(waiting),
                "median_sale_to_posted_s": round(statistics.median(delays), 1) if delays else None,
                "max_sale_to_posted_s": round(max(delays), 1) if delays else None,
            }
        faults = Counter()
        for app in (self.xero, self.vend):
            faults.update(app.faults_injected)
        intervals = {
            key: {
                "configured": connection.poll_interval.total_seconds(),
                "longest_effective": self.longest_poll_interval.get(
                    key, connection.poll_interval
                ).total_seconds(),
            }
            for key, connection in connections.items()
        }
        return {
            "plan": self.plan.__dict__,
            "imported": self.imported,
            "events": dict(self.events),
            "calls": calls,
            "lower_bound": bound,
            "ratio_to_lower_bound": {
                key: round(calls[key]["month_total"] / bound[key], 2) if bound[key] else None for key in bound
            },
            "seed_reference": {
                "nightly_full_reread_per_day": 2 * self.plan.products,
                "ours_per_day": round(ours / self.plan.days, 1),
                "ratio_to_nightly_reread": round(ours / self.plan.days / (2 * self.plan.products), 4),
                "seed_month_figure": 5_000,
                "ours_month": ours,
                "ratio_to_seed_month": round(ours / 5_000, 2),
            },
            "freshness": {route: _spread(values) for route, values in sorted(self.freshness.items())},
            "poll_intervals_s": intervals,
            # A polled change shows within the longest interval in force plus one poll interval.
            "freshness_targets_s": {
                "webhook": 60,
                "poll": 2 * max(interval["longest_effective"] for interval in intervals.values()),
            },
            "unseen_changes": len(self.pending),
            "invoices": invoices,
            "convergence": self.convergence(),
            "faults": {**dict(faults), "worker_killed": self.kills},
            # How a kill happens: SIGKILL to a forked worker, or WorkerKilled in this process.
            "workers": "forked processes" if self.forking else "this process",
            "merchant_emails": [message.subject for message in mail.outbox],
            "task_crashes": len(self.crashes),
            "crash_samples": self.crashes[:5],
        }

    def lower_bound(self) -> dict[str, int]:
        """The same month's work at the fewest calls the APIs allow: one call per polled resource
        per poll the schedule made (pacing stretches the interval when a plan runs short), the
        changed records in full pages, invoices in full batches, and one create for each customer
        and product new to the remote side."""
        from invoices.models import Sale
        from syncing.models import Customer, Product, SyncRun

        sales = Sale.objects.filter(tenant=self.tenant).count()
        new_customers = Customer.objects.filter(tenant=self.tenant, email__startswith="walkin").count()
        new_products = Product.objects.filter(tenant=self.tenant, sku__startswith="NEW-").count()
        bound = {}
        for key, connection in (("xero", self.xero_conn), ("vend", self.vend_conn)):
            spec = connection.spec
            polls = (
                SyncRun.objects.filter(
                    connection=connection,
                    trigger=SyncRun.Trigger.SCHEDULE,
                    kind__in=[SyncRun.Kind.PRODUCTS, SyncRun.Kind.STOCK, SyncRun.Kind.CUSTOMERS],
                    started_at__gte=START + timedelta(days=1),
                )
                .exclude(status__in=[SyncRun.Status.SKIPPED, SyncRun.Status.DEFERRED])
                .count()
            )
            changed = (
                self.events["product"] + self.events["stock"] + self.events["customer"] // 2
                if key == "vend"
                else self.events["customer"] // 2
            )
            bound[key] = (
                polls
                + math.ceil(changed / spec.page_size)
                + math.ceil(sales / max(spec.invoice_batch_size, 1))
                + new_customers
                + new_products
                + 1
            )
        return bound

    def convergence(self) -> dict[str, int]:
        """Differences between local data and the emulators' (each must be 0)."""
        from syncing.models import CustomerLink, Product, ProductLink, StockLevel

        differences = {}
        local = {
            sku: (name, price, active)
            for sku, name, price, active in Product.objects.filter(tenant=self.tenant).values_list(
                "sku", "name", "sale_price", "active"
            )
        }
        remote = {p["code"]: (p["name"], p["price"], p["active"]) for p in self.vend.products()}
        differences["catalogue"] = sum(
            1 for sku in local.keys() | remote.keys() if local.get(sku) != remote.get(sku)
        )
        outlet_names = {oid: outlet["name"] for oid, outlet in self.vend.outlets.items()}
        remote_stock = {
            (pid, outlet_names[oid]): Decimal(str(record["inventory_level"]))
            for (pid, oid), record in self.vend.inventory.items()
            if not record.get("deleted_at")
        }
        local_stock = {
            (remote_id, location): quantity
            for remote_id, location, quantity in StockLevel.objects.filter(
                product__links__connection=self.vend_conn, location__name__in=outlet_names.values()
            ).values_list("product__links__remote_id", "location__name", "quantity")
        }
        differences["stock"] = sum(
            1
            for key in remote_stock.keys() | local_stock.keys()
            if remote_stock.get(key) != local_stock.get(key)
        )
        for key, app, connection in (
            ("xero", self.xero, self.xero_conn),
            ("vend", self.vend, self.vend_conn),
        ):
            remote_links = {(p["remote_id"], p["code"]) for p in app.products()}
            local_links = set(
                ProductLink.objects.filter(connection=connection, remote_deleted=False).values_list(
                    "remote_id", "product__sku"
                )
            )
            differences[f"product_links_{key}"] = len(remote_links ^ local_links)
            contacts = app.org.contacts if key == "xero" else app.customers
            remote_customers = {cid for cid, c in contacts.items() if not c.get("deleted_at")}
            linked = set(
                CustomerLink.objects.filter(connection=connection).values_list("remote_id", flat=True)
            )
            differences[f"customer_links_{key}"] = len(remote_customers ^ linked)
        return differences


def _api_calls(jobs: Counter) -> int:
    return sum(jobs.values()) - jobs[SIGN_IN]


def _job(purpose: str, kind: str | None, trigger: str | None) -> str:
    if purpose.startswith("oauth"):
        return SIGN_IN
    if trigger == "webhook":
        return "webhooks"
    if kind == "sweep":
        return "sweep"
    if kind in ("products", "stock", "customers"):
        return "pulls"
    if purpose in POSTING_PURPOSES:
        return "posting"
    return "linking"


def _spread(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "changes": len(ordered),
        "median_s": round(statistics.median(ordered), 1),
        "p95_s": round(ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)], 1),
        "max_s": round(ordered[-1], 1),
    }
