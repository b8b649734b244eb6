"""Staff and outgoing webhooks: the secret shown once on creation, attempts listed under their
delivery, and a delivery replayed from the list."""

import factory
import pytest
from django.urls import reverse

from syncing.models import EventDelivery, EventDeliveryAttempt, WebhookEndpoint
from syncing.services import outbound
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = factories.UserFactory(is_staff=True, is_superuser=True, password=factory.Transformer.Force("!"))
    client.force_login(user)
    return client


@pytest.fixture
def given_up(tenant):
    outbound.create_endpoint(tenant=tenant, url="https://platform.example/", event_types=["sync.failed"])
    (delivery,) = outbound.emit_event(tenant, "sync.failed", {"run": 1})
    EventDeliveryAttempt.objects.create(delivery=delivery, status_code=500, response_excerpt="upstream down")
    EventDelivery.objects.filter(pk=delivery.pk).update(
        state=EventDelivery.State.GIVEN_UP, next_attempt_at=None
    )
    return delivery


def test_an_endpoint_created_by_staff_shows_its_secret_once(staff_client, tenant):
    response = staff_client.post(
        reverse("admin:syncing_webhookendpoint_add"),
        {
            "tenant": tenant.pk,
            "url": "https://platform.example/",
            "event_types": '["sync.completed"]',
            "active": "on",
        },
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    assert any(endpoint.secret in message for message in shown)
    page = staff_client.get(reverse("admin:syncing_webhookendpoint_change", args=[endpoint.pk]))
    assert endpoint.secret.encode() not in page.content


def test_a_deliverys_attempts_are_listed_on_its_page(staff_client, given_up):
    page = staff_client.get(reverse("admin:syncing_eventdelivery_change", args=[given_up.pk]))

    assert b"upstream down" in page.content


def test_staff_replay_a_given_up_delivery(staff_client, given_up, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        staff_client.post(
            reverse("admin:syncing_eventdelivery_changelist"),
            {"action": "replay", "_selected_action": [given_up.pk]},
        )

    given_up.refresh_from_db()
    assert given_up.state == EventDelivery.State.PENDING
    assert given_up.attempts.count() == 1
    assert len(queued) == 1
