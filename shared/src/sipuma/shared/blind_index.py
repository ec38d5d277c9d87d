"""Keyed blind indexes of a complainant's identifiers (issue 16's possible-duplicate hint; issue
20's name search can add its own kinds): HMAC-SHA256 under a service secret of a normalised
value, so equal identifiers meet in an index while the store, a backup or a query log never holds
the value itself, and nobody without the key can test a guessed NIK against it."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Iterable

_DIGITS = re.compile(r"\D")


@functools.lru_cache(maxsize=8)
def _keyed(key: bytes) -> hmac.HMAC:
    """The HMAC keyed once: a copy per value costs half a fresh `hmac.new` (OpenSSL 3 looks the
    digest up and keys it again each time; ~8 keys per complaint, issue 15)."""
    return hmac.new(key, digestmod=hashlib.sha256)


def blind_key(key: bytes, kind: str, value: str) -> str:
    """`kind:hex digest`; the kind keeps a NIK from ever matching a phone number."""
    mac = _keyed(key).copy()
    mac.update(f"{kind}\x00{value}".encode())
    return f"{kind}:{mac.hexdigest()}"


def complainant_keys(key: bytes, *, nik: str | None, phones: Iterable[str | None]) -> list[str]:
    """The blind keys of one complainant: the NIK (16 digits) and each phone (E.164 digits)."""
    found = []
    if nik and len(digits := _DIGITS.sub("", nik)) == 16:
        found.append(blind_key(key, "nik", digits))
    for phone in phones:
        if phone and len(digits := _DIGITS.sub("", phone)) >= 8:
            found.append(blind_key(key, "phone", digits))
    return sorted(set(found))
