"""Recognising personal data: key names and values that look like e-mail, phone or NIK.

Used by the log redactor (mask) and by analytics events (refuse free text that carries contact
data). Over-matching is the safe side for logs; contracts only apply it to free-text fields.
"""

from __future__ import annotations

import re

# Keys whose value is personal data wherever it appears (compared after `_key`).
SENSITIVE_KEYS = frozenset(
    {
        "name",
        "nama",
        "full_name",
        "address",
        "alamat",
        "phone",
        "telephone",
        "telepon",
        "mobile",
        "msisdn",
        "email",
        "e_mail",
        "nik",
        "nip",
        "contact",
        "tracking_contact",
        "complainant",
        "pengadu",
        "identity",
        "recipient",
        "to",
        "password",
        "secret",
        "token",
        "authorization",
        "cookie",
        "ticket_number",
    }
)
_SENSITIVE_SUFFIXES = (
    "_name",
    "_address",
    "_phone",
    "_mobile",
    "_email",
    "_nik",
    "_secret",
    "_token",
    "_password",
)

EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# International (+62 …, +1 …) or Indonesian national (08…, 021…) numbers, with separators.
PHONE = re.compile(
    r"(?<![\w+])\(?(?:\+\d{1,3}[\s.()-]{0,2}|62[\s.-]?|0)\d{2,4}(?:[\s.()-]{0,2}\d{2,5}){2,4}(?!\w)"
)
NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")

EMAIL_MASK, PHONE_MASK, NIK_MASK, KEY_MASK = "[email]", "[phone]", "[nik]", "[redacted]"


def _key(key: str) -> str:
    return key.strip().lower().replace("-", "_")


def is_sensitive_key(key: str) -> bool:
    normal = _key(key)
    return normal in SENSITIVE_KEYS or normal.endswith(_SENSITIVE_SUFFIXES)


def mask_text(text: str) -> str:
    """Replace e-mail, phone and NIK look-alikes inside free text."""
    text = EMAIL.sub(EMAIL_MASK, text)
    text = NIK.sub(NIK_MASK, text)
    return PHONE.sub(PHONE_MASK, text)


def contains_contact_data(text: str) -> bool:
    return mask_text(text) != text
