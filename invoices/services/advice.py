"""What a merchant should change when a provider refuses a document: one plain sentence, chosen
from the provider's own words. Providers word the same problem differently, so each rule matches
the phrasings Xero and Sage use (FACTS.md); the provider's message is kept beside it."""

from __future__ import annotations

import re
from collections.abc import Iterable

# (pattern over the provider's messages, what to change); the first rule that matches wins.
RULES: list[tuple[re.Pattern, str]] = [
    (
        re.compile(r"lock ?date|locked period|period is (closed|locked)|before the end of (the )?year", re.I),
        "The sale's date is in a period closed in {provider}: move the lock date there, or record "
        "this sale there by hand and cancel it here.",
    ),
    (
        re.compile(
            r"(invoice|document|reference)\s*(#|number)?.{0,40}(must be unique|already (exists|used))", re.I
        ),
        "{provider} already has a document with this number: check it there, then cancel this "
        "entry if it is the same sale, or retry once it is removed.",
    ),
    (
        re.compile(r"contact.{0,40}(archived|inactive|deleted)|archived contact", re.I),
        "The customer is archived in {provider}: restore the contact there, then retry.",
    ),
    (
        re.compile(r"tax ?type|tax ?rate|tax ?code", re.I),
        "{provider} does not accept the tax rate mapped for this sale: choose another under tax "
        "rates in the connection settings, then retry.",
    ),
    (
        re.compile(
            r"account code|ledger account|account.{0,40}(archived|not valid|invalid|does not exist)", re.I
        ),
        "{provider} does not accept the account mapped for this sale: choose an active account in "
        "the connection settings, then retry.",
    ),
    (
        re.compile(r"permission|not authori[sz]ed|forbidden|subscription|upgrade your plan|plan limit", re.I),
        "{provider} refused for lack of permission or plan: check the connected user's role and "
        "the subscription there, then retry.",
    ),
]


def what_to_change(provider: str, messages: Iterable[str]) -> str:
    """The sentence for the first rule any message matches, or "" when none does (the provider's
    own message then stands alone)."""
    text = " ".join(messages)
    for pattern, sentence in RULES:
        if pattern.search(text):
            return sentence.format(provider=provider)
    return ""
