from django.urls import path

from syncing.views import api_keys, auth, connect, dashboard, sync_flow, webhooks

app_name = "syncing"

urlpatterns = [
    path(
        "webhooks/<str:provider_key>/<str:connection_token>/",
        webhooks.receive_webhook,
        name="webhook",
    ),
    # Merchant dashboard
    path("", dashboard.overview, name="overview"),
    path("products/", dashboard.products, name="products"),
    path("products/<int:pk>/sync/", dashboard.sync_product_now, name="sync_product"),
    path("customers/", dashboard.customers, name="customers"),
    path("outbox/", dashboard.outbox, name="outbox"),
    path("outbox/<int:pk>/", dashboard.outbox_entry, name="outbox_entry"),
    path("outbox/<int:pk>/retry/", dashboard.retry_entry, name="retry_entry"),
    path("outbox/<int:pk>/cancel/", dashboard.cancel_entry, name="cancel_entry"),
    path("history/", dashboard.history, name="history"),
    # Connecting providers; the callback path is the one the demo's consent flow uses too.
    path("connections/", connect.integrations, name="integrations"),
    path("connections/<str:provider_key>/connect/", connect.connect, name="connect"),
    path("connections/<str:provider_key>/api-key/", connect.connect_api_key, name="connect_api_key"),
    path("connections/<str:provider_key>/callback/", connect.callback, name="connect_callback"),
    path("connections/<int:pk>/organisation/", connect.choose_organisation, name="choose_organisation"),
    path("connections/<int:pk>/settings/", connect.connection_settings, name="connection_settings"),
    path("connections/<int:pk>/reconnect/", connect.reconnect, name="reconnect"),
    path("connections/<int:pk>/access-lost/", connect.access_lost, name="access_lost"),
    path("connections/<int:pk>/sync/", connect.start_sync, name="start_sync"),
    path("connections/<int:pk>/disconnect/", connect.disconnect, name="disconnect"),
    # API keys
    path("api-keys/", api_keys.api_keys, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", api_keys.revoke, name="revoke_api_key"),
    # The sync flow an embedding platform sends a merchant through (no sign-in)
    path("sync-flow/progress/", sync_flow.progress, name="sync_flow_progress"),
    path("sync-flow/cancel/", sync_flow.cancel, name="sync_flow_cancel"),
    path("sync-flow/connect/<str:provider_key>/", sync_flow.connect, name="sync_flow_connect"),
    path("sync-flow/api-key/<str:provider_key>/", sync_flow.connect_api_key, name="sync_flow_api_key"),
    path("sync-flow/callback/<str:provider_key>/", sync_flow.callback, name="sync_flow_callback"),
    path("sync-flow/mapping/<int:pk>/", sync_flow.mapping, name="sync_flow_mapping"),
    path("sync-flow/organisation/<int:pk>/", sync_flow.choose_organisation, name="sync_flow_organisation"),
    path("sync-flow/<str:passcode>/", sync_flow.start, name="sync_flow"),
    # Signing in
    path("accounts/login/", auth.login, name="login"),
    path("accounts/logout/", auth.logout, name="logout"),
    path("accounts/password-reset/", auth.password_reset, name="password_reset"),
    path("accounts/password-reset/sent/", auth.password_reset_done, name="password_reset_done"),
    path("accounts/reset/<uidb64>/<token>/", auth.password_reset_confirm, name="password_reset_confirm"),
    path("accounts/reset/done/", auth.password_reset_complete, name="password_reset_complete"),
]
