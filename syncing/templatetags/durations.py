"""`{{ duration|in_words }}`: a timedelta as a merchant reads it ("2 hours 1 minute")."""

from django import template

from syncing import freshness

register = template.Library()
register.filter("in_words", freshness.in_words)
