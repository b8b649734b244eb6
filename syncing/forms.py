"""Forms of the merchant dashboard: sign-in with throttling, and a connection's mapping settings."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache

from syncing.models import Connection

# Failed sign-ins counted per username and address; past the limit the form refuses for a while.
LOGIN_FAILURE_LIMIT = 5
LOGIN_FAILURE_WINDOW = 15 * 60
POLL_INTERVAL_MINUTES = (30, 120)


def _attempts_key(username: str, address: str) -> str:
    return f"login-failures:{username.strip().lower()}:{address}"


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, refusing a username from an address after repeated failures."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": "Too many failed sign-ins. Please wait 15 minutes or reset your password.",
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        key = _attempts_key(username, self.request.META.get("REMOTE_ADDR", "") if self.request else "")
        if cache.get(key, 0) >= LOGIN_FAILURE_LIMIT:
            raise forms.ValidationError(self.error_messages["throttled"], code="throttled")
        try:
            return super().clean()
        except forms.ValidationError:
            # add() keeps the first failure's expiry; incr() does not extend it.
            if not cache.add(key, 1, LOGIN_FAILURE_WINDOW):
                cache.incr(key)
            raise


class KeyValueJSONField(forms.JSONField):
    """A mapping of text to text, typed as JSON (`{"20% VAT": "OUTPUT2"}`)."""

    def validate(self, value):
        super().validate(value)
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise forms.ValidationError('Enter pairs of text, e.g. {"20% VAT": "OUTPUT2"}.')


class ConnectionMappingForm(forms.ModelForm):
    """Where posted sales land in the provider, and how often it is polled."""

    tax_rate_map = KeyValueJSONField(
        required=False,
        label="Tax rate mapping",
        help_text='Local tax code to the provider\'s tax type, as JSON: {"20% VAT": "OUTPUT2"}.',
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    poll_minutes = forms.IntegerField(
        label="Poll every (minutes)",
        min_value=POLL_INTERVAL_MINUTES[0],
        max_value=POLL_INTERVAL_MINUTES[1],
        help_text="Between 30 minutes and 2 hours.",
    )

    class Meta:
        model = Connection
        fields = [
            "sales_account_code",
            "payment_account_code",
            "tax_rate_map",
            "cash_sale_contact_id",
            "send_contact_details",
        ]
        labels = {
            "sales_account_code": "Sales account",
            "payment_account_code": "Payment account",
            "cash_sale_contact_id": "Cash-sale contact id",
            "send_contact_details": "Send customers' contact details",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["poll_minutes"].initial = int(self.instance.poll_interval.total_seconds() // 60)
        if self.instance.tax_rate_map is None:
            self.initial["tax_rate_map"] = {}

    def clean_tax_rate_map(self):
        return self.cleaned_data["tax_rate_map"] or {}

    def save(self, commit=True):
        self.instance.poll_interval = timedelta(minutes=self.cleaned_data["poll_minutes"])
        return super().save(commit=commit)
