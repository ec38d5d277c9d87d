"""Ticket numbers (nomor tiket): unguessable, easy to read aloud and type, stored only as a hash.

75 random bits from `secrets` as 15 Crockford base32 symbols plus one Luhn mod-32 check symbol,
grouped 4-4-4-4 (`7KQ2-M9XD-4HBT-0RZC`). Readers may type lower case, spaces, or confuse I/L with
1 and O with 0; `parse` forgives all of that. Only HMAC-SHA256(server key, canonical ticket) is
stored, so a database leak does not reveal a ticket.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_VALUE.update({"I": 1, "L": 1, "O": 0})
DATA_SYMBOLS = 15  # 75 bits
BITS = DATA_SYMBOLS * 5
GROUP = 4


def _check_symbol(values: list[int]) -> int:
    """Luhn mod N (N = 32): catches every single-symbol error and most adjacent swaps."""
    factor, total = 2, 0
    for value in reversed(values):
        addend = factor * value
        total += addend // 32 + addend % 32
        factor = 1 if factor == 2 else 2
    return (32 - total % 32) % 32


def new_ticket() -> str:
    number = secrets.randbits(BITS)
    values = [(number >> (5 * i)) & 31 for i in reversed(range(DATA_SYMBOLS))]
    values.append(_check_symbol(values))
    raw = "".join(ALPHABET[v] for v in values)
    return "-".join(raw[i : i + GROUP] for i in range(0, len(raw), GROUP))


def parse(text: str) -> str | None:
    """The canonical 16-symbol form, or None when it cannot be a ticket (length, symbol, check)."""
    cleaned = "".join(ch for ch in text.upper() if ch not in "- ")
    if len(cleaned) != DATA_SYMBOLS + 1 or any(ch not in _VALUE for ch in cleaned):
        return None
    values = [_VALUE[ch] for ch in cleaned]
    if _check_symbol(values[:-1]) != values[-1]:
        return None
    return "".join(ALPHABET[v] for v in values)


def ticket_hash(key: bytes, canonical: str) -> str:
    return hmac.new(key, canonical.encode("ascii"), hashlib.sha256).hexdigest()
