"""Idempotency keys: same body → stored answer, other body → mismatch, concurrent → in progress,
and answers survive a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from sipuma.intake.idempotency import SqliteIdempotencyStore as IdempotencyStore
from sipuma.shared.idempotency import Outcome, StoredAnswer, fingerprint

pytestmark = pytest.mark.unit


def test_fingerprint_ignores_whitespace_and_key_order() -> None:
    assert fingerprint(b'{"a": 1, "b": [1,2]}') == fingerprint(b'{"b":[1, 2],"a":1}')
    assert fingerprint(b'{"a": 1}') != fingerprint(b'{"a": 2}')


async def test_replay_mismatch_and_in_progress(tmp_path: Path) -> None:
    store = IdempotencyStore(tmp_path / "i.sqlite3")
    first = fingerprint(b'{"a":1}')
    assert (await store.begin("officer|POST", "k", first))[0] is Outcome.NEW
    assert (await store.begin("officer|POST", "k", first))[0] is Outcome.IN_PROGRESS
    assert (await store.begin("officer|POST", "k", fingerprint(b"{}")))[0] is Outcome.MISMATCH
    await store.finish(
        "officer|POST", "k", first, StoredAnswer(201, {"id": "x"}, {"Location": "/x"})
    )
    store.close()

    reopened = IdempotencyStore(tmp_path / "i.sqlite3")
    outcome, answer = await reopened.begin("officer|POST", "k", first)
    assert outcome is Outcome.REPLAY
    assert answer == StoredAnswer(201, {"id": "x"}, {"Location": "/x"})
    assert (await reopened.begin("officer|POST", "k", fingerprint(b"{}")))[0] is Outcome.MISMATCH
    # Keys are per officer and route: the same key elsewhere is a new request.
    assert (await reopened.begin("other|POST", "k", first))[0] is Outcome.NEW


async def test_abandoned_request_may_run_again(tmp_path: Path) -> None:
    store = IdempotencyStore(tmp_path / "i.sqlite3")
    assert (await store.begin("s", "k", "f"))[0] is Outcome.NEW
    await store.abandon("s", "k")
    assert (await store.begin("s", "k", "f"))[0] is Outcome.NEW


async def test_expired_answers_are_purged(tmp_path: Path) -> None:
    store = IdempotencyStore(tmp_path / "i.sqlite3", ttl_s=0.0001)
    await store.begin("s", "k", "f")
    await store.finish("s", "k", "f", StoredAnswer(201, {}, {}))
    store.close()
    again = IdempotencyStore(tmp_path / "i.sqlite3", ttl_s=0.0001)
    assert (await again.begin("s", "k", "f"))[0] is Outcome.NEW
