"""The status book: waiters resolve on the registered event, the first number stands, bounded."""

from __future__ import annotations

import asyncio

import pytest

from sipuma.intake.models import ComplaintStatus
from sipuma.intake.waiters import ComplaintBook, Seen

pytestmark = pytest.mark.unit


async def test_waiter_resolves_when_registered() -> None:
    book = ComplaintBook()
    future = book.expect("c1")
    book.note("c1", "OFF", ComplaintStatus.RECEIVED)
    asyncio.get_running_loop().call_later(0.05, book.registered, Seen("c1", "OFF", "N-1", "t"))
    entry = await book.wait_registered("c1", future, 2)
    assert entry is not None and entry.register_number == "N-1"
    assert book.get("c1").status is ComplaintStatus.REGISTERED


async def test_wait_times_out_without_leaking_waiters() -> None:
    book = ComplaintBook()
    future = book.expect("c2")
    assert await book.wait_registered("c2", future, 0.05) is None
    assert book._waiters == {}


async def test_already_registered_answers_at_once_and_first_number_stands() -> None:
    book = ComplaintBook()
    book.registered(Seen("c3", "OFF", "N-1", "t"))
    book.registered(Seen("c3", "OFF", "N-2", "t"))  # a redelivery / replay
    assert book.get("c3").register_number == "N-1"
    assert (await book.wait_registered("c3", book.expect("c3"), 0.01)).register_number == "N-1"


async def test_status_progresses_and_never_goes_back() -> None:
    book = ComplaintBook()
    book.note("c4", "OFF", ComplaintStatus.QUEUED)
    book.received(Seen("c4", "OFF"))
    assert book.get("c4").status is ComplaintStatus.RECEIVED
    book.registered(Seen("c4", "OFF", "N", "t"))
    book.received(Seen("c4", "OFF"))
    book.note("c4", "OFF", ComplaintStatus.QUEUED)
    assert book.get("c4").status is ComplaintStatus.REGISTERED


def test_book_is_bounded() -> None:
    book = ComplaintBook(max_entries=3)
    for i in range(5):
        book.note(f"c{i}", "OFF", ComplaintStatus.RECEIVED)
    assert [book.get(f"c{i}") is not None for i in range(5)] == [False, False, True, True, True]
