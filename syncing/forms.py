"""Forms of the merchant dashboard and the sync flow: sign-in with throttling, a connection's
mapping settings, and the API keys of a provider without a sign-in page."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.validators import RegexValidator

from syncing import selectors
from syncing.models import Connection, Tenant
from syncing.services import connections
from syncing.texts import SYNC_FLOW_TEXTS

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

    @classmethod
    def for_connection(cls, connection: Connection, data=None) -> ConnectionMappingForm:
        """The form as the mapping step shows it: the provider's accounts and tax rates read now,
        one tax choice per code the tenant's products use; `problem` says why a list is missing."""
        choices = connections.mapping_choices(connection)
        form = cls(
            data,
            instance=connection,
            choices=choices,
            local_tax_codes=selectors.local_tax_codes(connection.tenant),
        )
        form.problem = choices.problem
        return form

    def __init__(self, *args, choices=None, local_tax_codes=(), **kwargs):
        """`choices` (a `connections.MappingChoices`) turns the account fields into lists of the
        provider's accounts and the tax mapping into one list per local tax code; without them
        (the provider could not be read) the codes are typed."""
        super().__init__(*args, **kwargs)
        self.problem = ""
        self.fields["poll_minutes"].initial = int(self.instance.poll_interval.total_seconds() // 60)
        if self.instance.tax_rate_map is None:
            self.initial["tax_rate_map"] = {}
        self.tax_fields: dict[str, str] = {}
        if choices is not None:
            self._offer("sales_account_code", choices.sales_accounts)
            self._offer("payment_account_code", choices.payment_accounts)
            if choices.tax_rates:
                self._offer_tax_rates(choices.tax_rates, local_tax_codes)

    def _offer(self, name: str, accounts) -> None:
        """A list of the provider's accounts. A current code it no longer offers stays in the
        list, marked, so saving other settings never changes it silently."""
        if not accounts:
            return
        current = getattr(self.instance, name)
        options = [("", "Not set"), *((a.code, f"{a.code} · {a.name}") for a in accounts)]
        if current and current not in {a.code for a in accounts}:
            options.append((current, f"{current} (not offered by {self.instance.spec.name})"))
        label = self.fields[name].label
        self.fields[name] = forms.ChoiceField(label=label, choices=options, required=False)

    def _offer_tax_rates(self, rates, local_tax_codes) -> None:
        mapped = self.instance.tax_rate_map or {}
        codes = list(dict.fromkeys([*local_tax_codes, *mapped]))
        options = [("", "Send the code as it is"), *((r.code, f"{r.name} ({r.code})") for r in rates)]
        offered = {r.code for r in rates}
        del self.fields["tax_rate_map"]
        for n, code in enumerate(codes):
            current = mapped.get(code, "")
            extra = [(current, f"{current} (not offered)")] if current and current not in offered else []
            name = f"tax_rate_{n}"
            self.fields[name] = forms.ChoiceField(
                label=f"Tax code “{code}”", choices=options + extra, required=False, initial=current
            )
            self.tax_fields[name] = code

    def clean_tax_rate_map(self):
        return self.cleaned_data["tax_rate_map"] or {}

    def save(self, commit=True):
        self.instance.poll_interval = timedelta(minutes=self.cleaned_data["poll_minutes"])
        if self.tax_fields:
            chosen = {code: self.cleaned_data[name] for name, code in self.tax_fields.items()}
            self.instance.tax_rate_map = {code: rate for code, rate in chosen.items() if rate}
        connection = super().save(commit=False)
        if commit:
            # Only the settings: a token refreshed meanwhile by a provider call must not be overwritten.
            connection.save(update_fields=[*self.Meta.fields, "poll_interval", "updated_at"])
        return connection


# Both travel in HTTP headers, which carry visible ASCII only; anything else was mistyped.
VISIBLE_ASCII = RegexValidator(r"^[!-~]+$", "Copy the value exactly: letters, digits and symbols, no spaces.")


class ApiKeyConnectForm(forms.Form):
    """The API id and key of a provider without a sign-in page (Unleashed)."""

    api_id = forms.CharField(label="API id", max_length=100, strip=True, validators=[VISIBLE_ASCII])
    api_key = forms.CharField(
        label="API key",
        max_length=200,
        strip=True,
        validators=[VISIBLE_ASCII],
        widget=forms.PasswordInput(render_value=False),
    )

    def connect(self, *, tenant: Tenant, provider_key: str) -> Connection | None:
        """Connect with the keys typed, checked with the provider; None, with the provider's refusal
        as the form's error, when they are not valid or not accepted."""
        if not self.is_valid():
            return None
        try:
            return connections.connect_with_api_key(
                tenant=tenant, provider_key=provider_key, **self.cleaned_data
            )
        except connections.CredentialsRefused as exc:
            self.add_error(None, str(exc))
            return None


class AccountCodesField(forms.CharField):
    """A list of account codes typed as "200, 090"; stored as a list, empty meaning every account."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [code for code in (part.strip() for part in text.replace("\n", ",").split(",")) if code]


class ConnectionAdminForm(forms.ModelForm):
    visible_accounts = AccountCodesField(
        required=False,
        label="Accounts the merchant may choose",
        help_text="Account codes separated by commas, e.g. 200, 090. Empty: every account listed.",
        widget=forms.TextInput(attrs={"size": 60}),
    )


class _TenantTextsForm(forms.ModelForm):
    """The tenant with one box per sync-flow text; an empty box means the default."""

    class Meta:
        model = Tenant
        fields = ["name", "slug", "timezone", "plan", "monthly_call_allowance"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        saved = self.instance.sync_flow_texts if isinstance(self.instance.sync_flow_texts, dict) else {}
        for key in SYNC_FLOW_TEXTS:
            if f"text_{key}" in self.fields:
                self.fields[f"text_{key}"].initial = saved.get(key, "")

    def save(self, commit=True):
        self.instance.sync_flow_texts = {
            key: self.cleaned_data[f"text_{key}"].strip()
            for key in SYNC_FLOW_TEXTS
            if self.cleaned_data.get(f"text_{key}", "").strip()
        }
        return super().save(commit=commit)


TEXT_FIELDS = [f"text_{key}" for key in SYNC_FLOW_TEXTS]
TenantAdminForm = forms.models.ModelFormMetaclass(
    "TenantAdminForm",
    (_TenantTextsForm,),
    {
        f"text_{key}": forms.CharField(
            label=key.replace("_", " ").capitalize(),
            required=False,
            max_length=300,
            help_text=f"Default: {default}",
            widget=forms.TextInput(attrs={"size": 80}),
        )
        for key, default in SYNC_FLOW_TEXTS.items()
    }
    | {"__module__": __name__},
)
