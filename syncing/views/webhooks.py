"""The one endpoint every provider's webhooks arrive at: /webhooks/<provider>/<connection token>/."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from syncing.services import webhooks


@csrf_exempt
@require_POST
def receive_webhook(request: HttpRequest, provider_key: str, connection_token: str) -> HttpResponse:
    """Providers sign the raw bytes, so the body is passed on untouched. Every answer has an empty
    body: Xero wants 200 with no body and no cookies
    (https://developer.xero.com/documentation/webhooks/configuring-your-server)."""
    try:
        webhooks.receive_webhook(
            provider_key=provider_key,
            token=connection_token,
            headers=request.headers,
            body=request.body,
            content_type=request.headers.get("Content-Type", ""),
        )
    except webhooks.WebhookRefused as refused:
        return HttpResponse(status=refused.status)
    return HttpResponse(status=200)
