"""Companies (tenants) created by the embedding platform through the API, each handed its first
tenant key so the platform can act for it at once."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from syncing.models import ApiKey, Tenant
from syncing.services.api_keys import create_api_key

FIRST_KEY_NAME = "Created with the company"


class SlugTaken(Exception):
    def __init__(self, slug: str) -> None:
        super().__init__(f"A company with the slug {slug!r} exists already.")
        self.slug = slug


def slug_for(name: str) -> str:
    return slugify(name)[: Tenant._meta.get_field("slug").max_length]


def create_company(*, name: str, slug: str, timezone: str) -> tuple[Tenant, ApiKey, str]:
    """The new company and its first key, whose plaintext is returned here and never again. Raises
    SlugTaken when the slug is another company's, also when two requests race for it."""
    if Tenant.objects.filter(slug=slug).exists():
        raise SlugTaken(slug)
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(name=name, slug=slug, timezone=timezone)
            key, plaintext = create_api_key(tenant=tenant, name=FIRST_KEY_NAME)
    except IntegrityError:
        if Tenant.objects.filter(slug=slug).exists():
            raise SlugTaken(slug) from None
        raise
    return tenant, key, plaintext
