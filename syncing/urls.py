from django.urls import path

from syncing.views import webhooks

app_name = "syncing"

urlpatterns = [
    path(
        "webhooks/<str:provider_key>/<str:connection_token>/",
        webhooks.receive_webhook,
        name="webhook",
    ),
]
