"""The merchant's keys to the public API: listed, created (the key is shown on the page that
creates it and never again) and revoked. Only the shop's owners create or revoke keys."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from syncing.models import ApiKey, Membership
from syncing.services.api_keys import create_api_key, revoke_api_key
from syncing.views.auth import tenant_for, tenant_required

MAX_NAME = ApiKey._meta.get_field("name").max_length


def _require_owner(request: HttpRequest) -> None:
    tenant = tenant_for(request)
    if not request.user.memberships.filter(tenant=tenant, role=Membership.Role.OWNER).exists():
        raise PermissionDenied("Only the shop's owners manage API keys.")


@require_http_methods(["GET", "POST"])
@tenant_required
def api_keys(request: HttpRequest) -> HttpResponse:
    tenant = tenant_for(request)
    context = {"new_key": None, "name": "", "error": ""}
    if request.method == "POST":
        _require_owner(request)
        name = request.POST.get("name", "").strip()
        if not name or len(name) > MAX_NAME:
            context |= {"name": name, "error": f"Give the key a name of 1 to {MAX_NAME} characters."}
        else:
            _, context["new_key"] = create_api_key(tenant=tenant, name=name)
    context["keys"] = ApiKey.objects.filter(tenant=tenant).order_by("revoked_at", "-created_at")
    return render(request, "dashboard/api_keys.html", context, status=422 if context["error"] else 200)


@require_POST
@tenant_required
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    _require_owner(request)
    key = get_object_or_404(ApiKey, pk=pk, tenant=tenant_for(request))
    revoke_api_key(key=key)
    messages.success(request, f"Revoked the key {key.name}. Programs using it are refused from now on.")
    return redirect("syncing:api_keys")
