"""Sign-in, password reset and the one way every dashboard view finds the merchant's tenant.

The URLs live in the `syncing` namespace, so Django's auth views are given their next steps
explicitly instead of relying on the un-namespaced names they default to.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.db.models import Model
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse, reverse_lazy

from syncing.forms import ThrottledAuthenticationForm
from syncing.models import Tenant

# How each model reaches its tenant; a model not listed here cannot be looked up for a tenant.
TENANT_PATHS = {
    "syncing.connection": "tenant",
    "syncing.product": "tenant",
    "syncing.syncrun": "connection__tenant",
    "invoices.sale": "tenant",
    "invoices.outboxentry": "connection__tenant",
}


def tenant_for(request: HttpRequest) -> Tenant:
    """The tenant the signed-in user works in: their oldest membership. None -> 404."""
    if not request.user.is_authenticated:
        raise Http404("Sign in first.")
    if not hasattr(request, "_tenant"):
        membership = request.user.memberships.select_related("tenant").order_by("pk").first()
        if membership is None:
            raise Http404("You are not a member of any shop.")
        request._tenant = membership.tenant
    return request._tenant


def get_object_for_tenant(request: HttpRequest, model: type[Model], pk, *, queryset=None):
    """`model` row `pk` if it belongs to the user's tenant; another tenant's id is a 404."""
    path = TENANT_PATHS[model._meta.label_lower]
    rows = queryset if queryset is not None else model.objects.all()
    return get_object_or_404(rows, pk=pk, **{path: tenant_for(request)})


def tenant_required(view):
    """Anonymous users go to the sign-in page; signed-in users without a shop get a 404."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("syncing:login"))
        tenant_for(request)
        return view(request, *args, **kwargs)

    return wrapper


login = auth_views.LoginView.as_view(
    authentication_form=ThrottledAuthenticationForm, redirect_authenticated_user=True
)
logout = auth_views.LogoutView.as_view(next_page=reverse_lazy("syncing:login"))
password_reset = auth_views.PasswordResetView.as_view(
    success_url=reverse_lazy("syncing:password_reset_done"),
    email_template_name="registration/password_reset_email.txt",
)
password_reset_done = auth_views.PasswordResetDoneView.as_view()
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    success_url=reverse_lazy("syncing:password_reset_complete")
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view()
