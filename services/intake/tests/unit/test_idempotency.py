"""Idempotency keys: same body → stored answer, other body → mismatch, concurrent → in progress,
and answers survive a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from sipuma.intake import ports
from sipuma.intake.idempotency import SqliteIdempotencyStore as IdempotencyStore
from sipuma.shared.idempotency import Outcome, StoredAnswer, fingerprint
from sipuma.shared.mongo_idempotency import MongoIdempotencyStore

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


def _port(store: ports.IdempotencyStore) -> ports.IdempotencyStore:
    return store  # mypy checks that the argument fits the port


async def test_the_sqlite_and_the_shared_mongo_adapters_fit_the_port(tmp_path: Path) -> None:
    sqlite = _port(IdempotencyStore(tmp_path / "i.sqlite3"))
    assert (await sqlite.begin("s", "k", "f"))[0] is Outcome.NEW
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(connect=False)
    try:
        _port(MongoIdempotencyStore(client["db"]["answers"], lease_s=60))
    finally:
        await client.close()
