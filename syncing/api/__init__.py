"""The public REST API (django-ninja), mounted at /api/v1/: one router per resource, each a thin
layer over the services and selectors, scoped to the tenant of the caller's API key."""
