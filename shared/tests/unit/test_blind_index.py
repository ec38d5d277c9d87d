"""The blind keys stay the HMAC-SHA256 they always were (stored keys must keep matching)."""

from __future__ import annotations

import hashlib
import hmac

from sipuma.shared.blind_index import blind_key, complainant_keys


def test_a_blind_key_is_the_keyed_hmac_of_kind_and_value_whatever_came_before() -> None:
    for key in (b"k-one", b"k-two", b"k-one"):  # a key met again uses its cached keying
        for kind, value in (("nik", "3171234567890123"), ("phone", "6281234567890")):
            want = hmac.new(key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()
            assert blind_key(key, kind, value) == f"{kind}:{want}"


def test_complainant_keys_are_sorted_unique_and_need_whole_identifiers() -> None:
    keys = complainant_keys(
        b"k", nik="3171-2345-6789-0123", phones=["+62 812-3456-7890", "+6281234567890", "12"]
    )
    assert keys == sorted(
        [blind_key(b"k", "nik", "3171234567890123"), blind_key(b"k", "phone", "6281234567890")]
    )
