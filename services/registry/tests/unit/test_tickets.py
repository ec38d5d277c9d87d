"""Ticket numbers: unguessable, readable, self-checking, stored only as a keyed hash."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sipuma.registry import tickets

pytestmark = pytest.mark.unit
SHAPE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


def test_shape_and_entropy() -> None:
    sample = {tickets.new_ticket() for _ in range(5000)}
    assert len(sample) == 5000
    assert all(SHAPE.match(t) for t in sample)
    assert tickets.BITS >= 64
    assert math.log2(len(tickets.ALPHABET)) * tickets.DATA_SYMBOLS == tickets.BITS


def test_parse_forgives_case_spaces_and_look_alikes() -> None:
    ticket = tickets.new_ticket()
    canonical = ticket.replace("-", "")
    assert tickets.parse(ticket) == canonical
    assert tickets.parse(ticket.lower().replace("-", " ")) == canonical
    swapped = canonical.replace("1", "I").replace("0", "O")
    assert tickets.parse(swapped) == canonical


@given(st.integers(0, 15), st.integers(0, 31), st.randoms(use_true_random=False))
def test_every_single_symbol_error_is_caught(position: int, value: int, rnd) -> None:
    canonical = tickets.parse(tickets.new_ticket())
    assert canonical is not None
    wrong = tickets.ALPHABET[value]
    if canonical[position] == wrong:
        return
    typo = canonical[:position] + wrong + canonical[position + 1 :]
    assert tickets.parse(typo) is None


def test_most_adjacent_swaps_are_caught() -> None:
    caught = total = 0
    for _ in range(300):
        canonical = tickets.parse(tickets.new_ticket())
        assert canonical is not None
        for i in range(15):
            if canonical[i] != canonical[i + 1]:
                swapped = canonical[:i] + canonical[i + 1] + canonical[i] + canonical[i + 2 :]
                total += 1
                caught += tickets.parse(swapped) is None
    assert caught / total > 0.95


@pytest.mark.parametrize("text", ["", "ABCD", "ABCD-EFGH-JKMN-PQRU", "🙂" * 16, "0" * 40])
def test_malformed_input_is_no_ticket(text: str) -> None:
    assert tickets.parse(text) is None


def test_hash_is_keyed_and_hides_the_ticket() -> None:
    canonical = tickets.parse(tickets.new_ticket())
    assert canonical is not None
    one, other = tickets.ticket_hash(b"k1", canonical), tickets.ticket_hash(b"k2", canonical)
    assert one != other and len(one) == 64 and canonical not in one
