"""The status book: waiters resolve on the registered event, the first number stands, bounded."""

from __future__ import annotations

import asyncio

import pytest

from sipuma.intake.domain import ComplaintStatus, Entry
from sipuma.intake.status_book import RECEIVED_FETCH_WAIT_MS, BookFeeder, ComplaintBook, Seen

pytestmark = pytest.mark.unit


def entry_of(book: ComplaintBook, complaint_id: str) -> Entry:
    found = book.get(complaint_id)
    assert found is not None, f"{complaint_id} is not in the book"
    return found


async def test_waiter_resolves_when_registered() -> None:
    book = ComplaintBook()
    future = book.expect("c1")
    book.note("c1", "OFF", ComplaintStatus.RECEIVED)
    waiting = asyncio.create_task(book.wait_registered("c1", future, 60))
    # Runs after the task's first step, i.e. while it waits: ordered by the loop, not by time.
    asyncio.get_running_loop().call_soon(book.registered, Seen("c1", "OFF", "N-1", "t"))
    entry = await waiting
    assert entry is not None and entry.register_number == "N-1"
    assert entry_of(book, "c1").status is ComplaintStatus.REGISTERED


async def test_wait_times_out_without_leaking_waiters() -> None:
    book = ComplaintBook()
    future = book.expect("c2")
    assert await book.wait_registered("c2", future, 0.05) is None
    assert book._waiters == {}


async def test_already_registered_answers_at_once_and_first_number_stands() -> None:
    book = ComplaintBook()
    book.registered(Seen("c3", "OFF", "N-1", "t"))
    book.registered(Seen("c3", "OFF", "N-2", "t"))  # a redelivery / replay
    assert entry_of(book, "c3").register_number == "N-1"
    answer = await book.wait_registered("c3", book.expect("c3"), 0.01)
    assert answer is not None and answer.register_number == "N-1"


async def test_status_progresses_and_never_goes_back() -> None:
    book = ComplaintBook()
    book.note("c4", "OFF", ComplaintStatus.QUEUED)
    book.received(Seen("c4", "OFF"))
    assert entry_of(book, "c4").status is ComplaintStatus.RECEIVED
    book.registered(Seen("c4", "OFF", "N", "t"))
    book.received(Seen("c4", "OFF"))
    book.note("c4", "OFF", ComplaintStatus.QUEUED)
    assert entry_of(book, "c4").status is ComplaintStatus.REGISTERED


def test_book_is_bounded() -> None:
    book = ComplaintBook(max_entries=3)
    for i in range(5):
        book.note(f"c{i}", "OFF", ComplaintStatus.RECEIVED)
    assert [book.get(f"c{i}") is not None for i in range(5)] == [False, False, True, True, True]


def test_a_complaint_is_found_by_its_register_number_in_any_case() -> None:
    """Issue 20: staff address complaints by register number, not UUID; the index follows the
    book's bound."""
    book = ComplaintBook(max_entries=1)
    book.registered(Seen("c1", "OFF", "PGD/OFF/2026/000001", "t"))
    found = book.by_number(" pgd/off/2026/000001 ")
    assert found is not None and found.complaint_id == "c1"
    book.registered(Seen("c2", "OFF", "PGD/OFF/2026/000002", "t"))  # c1 leaves the book
    assert book.by_number("PGD/OFF/2026/000001") is None
    assert book._numbers == {"PGD/OFF/2026/000002": "c2"}


async def test_the_feeder_splits_its_readers_and_is_live_only_while_both_follow() -> None:
    book = ComplaintBook()

    async def nothing() -> None:
        return None

    feeder = BookFeeder(
        book,
        "kafka.invalid:9092",
        received_topic="rcv",
        registered_topic="reg",
        hinted_topic="hint",
        lookback_s=60,
        prepare_topics=nothing,
    )
    live, received = feeder._readers
    # Answers wait for numbers and hints: read as they come. The received topic: batched.
    assert (live.topics, live.options) == (["reg", "hint"], {})
    assert received.topics == ["rcv"]
    assert received.options["fetch_max_wait_ms"] == RECEIVED_FETCH_WAIT_MS
    feeder._following(live, True)
    assert not book.is_live()
    feeder._following(received, True)
    assert book.is_live()
    feeder._following(received, False)  # one reader interrupted: no "unknown" answers
    assert not book.is_live()
