"""`IdentityVault.seal_many` on the real store: the same sealing as `seal` one document at a
time — one data key per complaint (shared by its documents, never a second one), only the
named fields that hold something encrypted, and each opened back under its complaint's key."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from bson.binary import Binary
from pymongo import AsyncMongoClient, monitoring

from sipuma.shared.identity_vault import ENCRYPTED_SUBTYPE, IdentityKeySettings, IdentityVault

pytestmark = pytest.mark.integration


class _Commands(monitoring.CommandListener):
    """The commands sent, by name, and the filters of the finds on `key_vault` when given."""

    def __init__(self, key_vault: str | None = None) -> None:
        self.key_vault = key_vault
        self.names: list[str] = []
        self.filters: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)
        if event.command_name == "find" and event.command["find"] == self.key_vault:
            self.filters.append(dict(event.command.get("filter", {})))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_seal_many_seals_as_seal_does_with_one_key_per_complaint(
    endpoints: Any, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("vault").replace("-", "_")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongo_uri, tz_aware=True)
    keys = IdentityKeySettings(master_key=base64.b64encode(os.urandom(96)).decode())
    vault = IdentityVault(client, name, keys)
    # The pinned pymongo keeps the callbacks the batched path needs (a newer one may not: the
    # registry then logs identity_vault_key_path batched=false at start).
    assert vault.batched
    try:
        await vault.ensure_key_vault()
        earlier = await vault.seal("c-old", {"job": {"to": "a@example.com"}}, ["job"])
        items: list[tuple[str, dict[str, Any], list[str]]] = [
            ("c-old", {"job": {"to": "b@example.com"}, "n": 1}, ["job"]),  # has a key already
            ("c-new", {"job": {"to": "c@example.com"}, "n": 2}, ["job"]),
            ("c-new", {"job": "+628111", "other": "x", "n": 3}, ["job", "other"]),  # same key
            ("c-none", {"job": None, "n": 4}, ["job"]),  # nothing to seal: no key either
        ]
        sealed = await vault.seal_many(items)

        assert [doc["n"] for doc in sealed] == [1, 2, 3, 4]
        for doc, field in ((sealed[0], "job"), (sealed[1], "job"), (sealed[2], "job")):
            value = doc[field]
            assert isinstance(value, Binary) and value.subtype == ENCRYPTED_SUBTYPE
        assert isinstance(sealed[2]["other"], Binary) and sealed[3]["job"] is None
        assert items[1][1]["job"] == {"to": "c@example.com"}, "the callers' documents unchanged"
        vault_keys = client[name][keys.key_vault_collection]
        names = sorted([n async for k in vault_keys.find() for n in k["keyAltNames"]])
        assert names == ["c-new", "c-old"], "one key per complaint that had something to seal"

        opened = [await vault.open(doc) for doc in [earlier, *sealed]]
        assert [o["job"] for o in opened] == [
            {"to": "a@example.com"},
            {"to": "b@example.com"},
            {"to": "c@example.com"},
            "+628111",
            None,
        ]
        assert opened[3]["other"] == "x"
    finally:
        await vault.close()
        await client.drop_database(name)
        await client.close()


async def test_seal_many_uses_the_key_another_replica_stored_after_it_looked(
    endpoints: Any, unique_name: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two replicas (or a redelivery) sealing for the same new complaint: the one whose key
    insert the key vault refused seals under the key that is there (one key per complaint), and
    every document opens under it, from either replica; in one insert for all new keys."""
    name = unique_name("vault").replace("-", "_")
    sent = _Commands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        endpoints.mongo_uri, tz_aware=True, event_listeners=[sent]
    )
    keys = IdentityKeySettings(master_key=base64.b64encode(os.urandom(96)).decode())
    first, second = IdentityVault(client, name, keys), IdentityVault(client, name, keys)
    try:
        await first.ensure_key_vault()
        theirs = await second.seal("c-raced", {"job": "theirs"}, ["job"])
        looked = first._held_keys  # the moment between looking and inserting

        async def looked_before_theirs(ids: Any) -> dict[str, bytes]:
            monkeypatch.setattr(first, "_held_keys", looked)
            return {}  # what the key vault held when this replica looked: nothing yet

        monkeypatch.setattr(first, "_held_keys", looked_before_theirs)
        items = [("c-raced", {"job": "ours"}, ["job"]), ("c-fresh", {"job": "new"}, ["job"])]
        sent.names.clear()
        ours = await first.seal_many(items)
        # One insert of both new keys (one refused), one read of the key that won; the keys are
        # handed to libmongocrypt, which reads none of them again.
        assert sent.names == ["insert", "find"]

        vault_keys = client[name][keys.key_vault_collection]
        names = sorted([n async for k in vault_keys.find() for n in k["keyAltNames"]])
        assert names == ["c-fresh", "c-raced"], "one key per complaint, the first one kept"
        for vault in (first, second):
            opened = [await vault.open(doc) for doc in (theirs, *ours)]
            assert [o["job"] for o in opened] == ["theirs", "ours", "new"]
    finally:
        await first.close()
        await second.close()
        await client.drop_database(name)
        await client.close()


async def test_opening_reads_its_key_through_an_index_not_the_whole_key_vault(
    endpoints: Any, unique_name: Callable[[str], str]
) -> None:
    """libmongocrypt asks the key vault `{$or: [{_id: {$in: ids}}, {keyAltNames: {$in: []}}]}`,
    which DocumentDB answers by scanning every key (one per complaint: each detail read grew
    with the data, 40 ms at 100,000 keys); the vault asks each branch alone, by index."""
    name = unique_name("vault").replace("-", "_")
    keys = IdentityKeySettings(master_key=base64.b64encode(os.urandom(96)).decode())
    writer: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongo_uri)
    finds = _Commands(keys.key_vault_collection)
    reader: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        endpoints.mongo_uri, event_listeners=[finds]
    )
    sealing, opening = IdentityVault(writer, name, keys), IdentityVault(reader, name, keys)
    try:
        await sealing.ensure_key_vault()
        sealed = await sealing.seal_many(
            [(f"c-{i}", {"who": f"pengadu {i}"}, ["who"]) for i in range(50)]
        )
        finds.filters.clear()
        opened = await opening.open(sealed[7])  # a cold key cache: the key is read

        assert opened["who"] == "pengadu 7"
        assert finds.filters, "the key was read from the key vault"
        for query in finds.filters:
            assert "$or" not in query, query
            plan = await reader[name].command(
                "explain", {"find": keys.key_vault_collection, "filter": query}
            )
            assert "COLLSCAN" not in json.dumps(plan, default=str), plan
    finally:
        await sealing.close()
        await opening.close()
        await writer.drop_database(name)
        await writer.close()
        await reader.close()


async def test_open_many_reads_the_keys_of_many_complaints_at_once_and_tells_erased_ones(
    endpoints: Any, unique_name: Callable[[str], str]
) -> None:
    """Issue 15: `open` read each complaint's key on its own (a fetch per ticket the notifier's
    dispatcher opened); `open_many` reads them all with one query and opens every document as
    `open` does, a field whose key was erased reading as erased."""
    name = unique_name("vault").replace("-", "_")
    keys = IdentityKeySettings(master_key=base64.b64encode(os.urandom(96)).decode())
    writer: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongo_uri)
    finds = _Commands(keys.key_vault_collection)
    reader: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        endpoints.mongo_uri, event_listeners=[finds]
    )
    sealing, opening = IdentityVault(writer, name, keys), IdentityVault(reader, name, keys)
    try:
        await sealing.ensure_key_vault()
        sealed = await sealing.seal_many(
            [(f"c-{i}", {"who": f"pengadu {i}", "n": i}, ["who"]) for i in range(20)]
        )
        sealed.append({"who": "tidak disegel", "n": 20})  # nothing sealed: left as it is
        assert await sealing.erase("c-3")
        finds.filters.clear()

        opened = await opening.open_many(sealed)

        assert [doc["n"] for doc in opened] == list(range(21))
        assert [doc["who"] for doc in opened] == [
            {"erased": True} if i == 3 else f"pengadu {i}" for i in range(20)
        ] + ["tidak disegel"]
        assert isinstance(sealed[0]["who"], Binary), "the callers' documents unchanged"
        # one read for the 19 keys there are; the erased one is asked once more, alone
        # (libmongocrypt's own read, which finds nothing: that is how it knows it is gone)
        assert len(finds.filters) == 2, finds.filters
        assert await opening.open_many([]) == []
    finally:
        await sealing.close()
        await opening.close()
        await writer.drop_database(name)
        await writer.close()
        await reader.close()


async def test_seal_many_of_new_complaints_makes_keys_without_looking_and_reuses_a_stored_one(
    endpoints: Any, unique_name: Callable[[str], str]
) -> None:
    """`new=True` (a complaint's first record, issue 15 part 5): no key-vault read before the
    keys are made; a key stored before (a redelivery) is refused by the unique index and used,
    so what was sealed earlier still opens and each complaint keeps one key."""
    name = unique_name("vault").replace("-", "_")
    commands = _Commands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        endpoints.mongo_uri, tz_aware=True, event_listeners=[commands]
    )
    keys = IdentityKeySettings(master_key=base64.b64encode(os.urandom(96)).decode())
    vault = IdentityVault(client, name, keys)
    try:
        await vault.ensure_key_vault()
        earlier = await vault.seal("c-again", {"job": "first"}, ["job"])
        commands.names.clear()
        items: list[tuple[str, dict[str, Any], list[str]]] = [
            ("c-fresh", {"job": "fresh"}, ["job"]),
            ("c-again", {"job": "again"}, ["job"]),
        ]
        sealed = await vault.seal_many(items, new=True)
        # insert of both keys (one refused), then the read of the refused one only
        assert commands.names == ["insert", "find"]
        vault_keys = client[name][keys.key_vault_collection]
        names = sorted([n async for k in vault_keys.find() for n in k["keyAltNames"]])
        assert names == ["c-again", "c-fresh"]
        opened = [(await vault.open(doc))["job"] for doc in [earlier, *sealed]]
        assert opened == ["first", "fresh", "again"]
    finally:
        await vault.close()
        await client.drop_database(name)
        await client.close()
