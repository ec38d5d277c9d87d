"""Complainant identity encrypted at rest, one data key per complaint (docs/identity.md).

PyMongo's explicit client-side encryption (`AsyncClientEncryption`, libmongocrypt): the store only
ever sees BSON Binary subtype 6. Each complaint gets its own data key (key alt name = complaint
id) in a key vault collection, wrapped by the master key of a KMS (a local 96-byte key from a file
or secret; KMIP, AWS, GCP or Azure by settings). Erasure deletes the complaint's data key: every
copy of its ciphertext, backups included, is then unreadable, while the complaint's unencrypted
facts (office, dates, status: the statistics) stay.

Values are encrypted with the random algorithm. Deterministic encryption would only help an
equality lookup, and with one key per complaint equal values never meet across complaints: the
duplicate hint uses a keyed blind index instead.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import bson
from bson.binary import STANDARD, UUID_SUBTYPE, Binary
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pymongo import AsyncMongoClient, WriteConcern
from pymongo.asynchronous.encryption import AsyncClientEncryption
from pymongo.encryption_shared import Algorithm
from pymongo.errors import BulkWriteError, DuplicateKeyError, EncryptionError
from pymongo.read_concern import ReadConcern

ENCRYPTED_SUBTYPE = 6
LOCAL_KEY_BYTES = 96
DEV_MASTER_KEY = SecretStr("dev-only-sipuma-identity-master-key")
ERASED: dict[str, Any] = {"erased": True}  # what a field reads as once its key is deleted
Doc = dict[str, Any]


class IdentityKeySettings(BaseModel):
    """The KMS settings a service with identity at rest takes (fields of its settings, prefix
    `SIPUMA_IDENTITY_`). Local KMS: `master_key` (base64 of 96 bytes; the dev-only default is
    refused outside development) or `master_key_file`. Other KMS: `kms_provider` (kmip, aws, gcp,
    azure), `kms_providers` (JSON credentials, a secret) and `master_key_spec` (which key)."""

    model_config = ConfigDict(frozen=True)

    master_key: SecretStr = DEV_MASTER_KEY
    master_key_file: Path | None = None
    kms_provider: str = "local"
    kms_providers: SecretStr | None = None
    master_key_spec: dict[str, Any] = Field(default_factory=dict)
    key_vault_collection: str = "identity_keys"
    key_cache_ms: int = Field(1000, ge=1)


def local_master_key(secret: SecretStr, file: Path | None = None) -> bytes:
    """96 bytes for the local KMS: from the file (raw or base64), else the secret (base64). The
    dev-only default is stretched to 96 bytes so development needs no key file."""
    if file is not None:
        raw = file.read_bytes()
        return raw if len(raw) == LOCAL_KEY_BYTES else base64.b64decode(raw.strip())
    value = secret.get_secret_value()
    if value.startswith("dev-only-"):
        return hashlib.shake_256(value.encode()).digest(LOCAL_KEY_BYTES)
    key = base64.b64decode(value)
    if len(key) != LOCAL_KEY_BYTES:
        raise ValueError(f"the local master key must be {LOCAL_KEY_BYTES} bytes (base64)")
    return key


def kms_providers(keys: IdentityKeySettings) -> dict[str, Any]:
    """libmongocrypt's KMS map. A local provider may carry a name (`local:2026-12`), so that a
    rotation can hold the old and the new local key side by side."""
    providers: dict[str, Any] = {}
    if keys.kms_providers is not None:
        providers.update(json.loads(keys.kms_providers.get_secret_value()))
    if keys.kms_provider.split(":")[0] == "local":
        key = local_master_key(keys.master_key, keys.master_key_file)
        providers[keys.kms_provider] = {"key": key}
    return providers


# Within one `seal_many`: the data keys it read or made (key alt name → the key document as
# stored), which libmongocrypt is handed instead of reading each from the key vault again, and
# the new keys' documents, collected to be inserted together instead of one insert each.
_HELD: ContextVar[dict[str, bytes] | None] = ContextVar("identity_keys_held", default=None)
_MADE: ContextVar[list[bytes] | None] = ContextVar("identity_keys_made", default=None)
# Within one `open_many`: the data keys its ciphertexts name, read at once (key id → the key
# document as stored); libmongocrypt asks for a key by id when it decrypts.
_HELD_BY_ID: ContextVar[dict[bytes, bytes] | None] = ContextVar("identity_keys_by_id", default=None)


async def _gather_holding(
    works: Sequence[Awaitable[Any]],
    concurrency: int,
    var: ContextVar[Any] | None = None,
    value: Any = None,
) -> list[Any]:
    """`works`, at most `concurrency` at a time, with `var` set to `value` while they run (the
    tasks `gather` starts copy this context: they see the batch's keys). The one pattern of
    `seal_many`, `_make_keys` and `open_many`."""
    gate = asyncio.Semaphore(concurrency)

    async def gated(work: Awaitable[Any]) -> Any:
        async with gate:
            return await work

    token = var.set(value) if var is not None else None
    try:
        return list(await asyncio.gather(*(gated(work) for work in works)))
    finally:
        if var is not None and token is not None:
            var.reset(token)


def _key_vault_branches(raw_filter: bytes) -> tuple[list[Any], list[Any]] | None:
    """The ids and alt names of libmongocrypt's key-vault filter
    (`{$or: [{_id: {$in: ids}}, {keyAltNames: {$in: names}}]}`), else None."""
    try:
        branches = bson.decode(raw_filter).get("$or")
        if not isinstance(branches, list) or len(branches) != 2:
            return None
        return list(branches[0]["_id"]["$in"]), list(branches[1]["keyAltNames"]["$in"])
    except (KeyError, TypeError, AttributeError, bson.errors.BSONError):
        return None


def _alt_names_only(raw_filter: bytes) -> list[str] | None:
    """The key alt names of the key-vault filter when it asks by names only, else None."""
    found = _key_vault_branches(raw_filter)
    if found is None:
        return None
    by_id, by_name = found
    return [str(name) for name in by_name] if not by_id and by_name else None


def _ids_only(raw_filter: bytes) -> list[bytes] | None:
    """The key ids (16 bytes each) of the key-vault filter when it asks by ids only, else
    None."""
    found = _key_vault_branches(raw_filter)
    if found is None:
        return None
    by_id, by_name = found
    if by_name or not by_id or not all(isinstance(key_id, bytes) for key_id in by_id):
        return None
    return [bytes(key_id) for key_id in by_id]


def _key_id(value: Any) -> bytes | None:
    """The data key id a ciphertext names (bytes 1-16 of its payload, after the blob subtype),
    None when `value` is not one."""
    if isinstance(value, Binary) and value.subtype == ENCRYPTED_SUBTYPE and len(value) > 17:
        return bytes(value[1:17])
    return None


def _indexed_queries(raw_filter: bytes) -> list[bytes]:
    """The key-vault filter as one query per non-empty branch. DocumentDB answers the `$or`
    with a scan of the whole key vault (one key per complaint: 40 ms at 100,000 keys, so each
    detail read grew with the data); each branch alone is an index lookup (0.5 ms)."""
    found = _key_vault_branches(raw_filter)
    if found is None:
        return [raw_filter]
    by_id, by_name = found
    queries = [{"_id": {"$in": by_id}}] if by_id else []
    queries += [{"keyAltNames": {"$in": by_name}}] if by_name else []
    return [bson.encode(query) for query in queries]


class _BatchKeyIO:
    """pymongo's I/O callbacks for libmongocrypt with two shortcuts, active only inside
    `seal_many` or `open_many` (context variables): keys the batch holds are answered from
    memory, and new keys' documents are collected, not inserted. Everything else goes to
    pymongo's callbacks."""

    def __init__(self, io: Any) -> None:
        self._io = io

    def __getattr__(self, name: str) -> Any:
        return getattr(self._io, name)

    async def fetch_keys(self, raw_filter: bytes) -> AsyncIterator[bytes]:
        held, names = _HELD.get(), _alt_names_only(raw_filter)
        if held is not None and names is not None and all(n in held for n in names):
            for raw in dict.fromkeys(held[n] for n in names):
                yield raw
            return
        by_id, ids = _HELD_BY_ID.get(), _ids_only(raw_filter)
        if by_id is not None and ids is not None and all(i in by_id for i in ids):
            for raw in dict.fromkeys(by_id[i] for i in ids):
                yield raw
            return
        seen: set[bytes] = set()
        for query in _indexed_queries(raw_filter):
            async for key in self._io.fetch_keys(query):
                key_id = bytes(RawBSONDocument(bytes(key))["_id"])
                if key_id not in seen:  # a key asked for by id and by name comes once
                    seen.add(key_id)
                    yield key

    async def insert_data_key(self, data_key: bytes) -> Binary:
        made = _MADE.get()
        if made is None:
            return await self._io.insert_data_key(data_key)  # type: ignore[no-any-return]
        key_id = RawBSONDocument(data_key)["_id"]
        if not isinstance(key_id, Binary) or key_id.subtype != UUID_SUBTYPE:
            raise TypeError("a data key's _id is a UUID")
        made.append(bytes(data_key))
        return key_id


class IdentityVault:
    """Seal and open the identity fields of one complaint's documents; erase; rewrap."""

    def __init__(
        self,
        client: AsyncMongoClient[Doc],
        database: str,
        keys: IdentityKeySettings,
        *,
        previous: IdentityKeySettings | None = None,
    ) -> None:
        """`previous`: the master key being rotated away from (only for `rewrap`)."""
        self._keys = keys
        self._collection = client[database][keys.key_vault_collection]
        providers = kms_providers(previous) if previous is not None else {}
        providers.update(kms_providers(keys))
        self._encryption: AsyncClientEncryption[Doc] = AsyncClientEncryption(
            providers,
            f"{database}.{keys.key_vault_collection}",
            client,
            CodecOptions(uuid_representation=STANDARD),
            # Short: a running service stops reading an erased complaint within this time.
            key_expiration_ms=keys.key_cache_ms,
        )
        # The key documents as stored (raw BSON, what libmongocrypt reads), with the read and
        # write concerns pymongo gives its own key vault I/O.
        self._raw_keys = self._collection.with_options(
            codec_options=CodecOptions(document_class=RawBSONDocument),
            read_concern=ReadConcern(level="majority"),
            write_concern=WriteConcern(w="majority"),
        )
        # pymongo keeps libmongocrypt's callbacks on its explicit encrypter (not public API):
        # without it, `seal_many` still works, one key round trip per complaint as before.
        explicit: Any = getattr(self._encryption, "_encryption", None)
        self._batched = hasattr(explicit, "callback")
        if self._batched:
            explicit.callback = _BatchKeyIO(explicit.callback)

    @property
    def batched(self) -> bool:
        """Whether `seal_many` takes the batched key path (two key round trips per batch) or,
        pymongo's internals having changed, one round trip per complaint: said at start."""
        return self._batched

    async def ensure_key_vault(self) -> None:
        """The unique partial index on keyAltNames libmongocrypt's key vault requires."""
        await self._collection.create_index(
            "keyAltNames",
            unique=True,
            partialFilterExpression={"keyAltNames": {"$exists": True}},
            name="keyAltNames_unique",
        )

    async def _create_key(self, complaint_id: str) -> None:
        try:
            await self._encryption.create_data_key(
                self._keys.kms_provider,
                master_key=self._keys.master_key_spec or None,
                key_alt_names=[complaint_id],
            )
        except (DuplicateKeyError, EncryptionError) as error:
            # Another replica (or a redelivery) made it first: the unique index said so.
            if await self._encryption.get_key_by_alt_name(complaint_id) is None:
                raise error from None

    async def seal(self, complaint_id: str, doc: Mapping[str, Any], fields: Iterable[str]) -> Doc:
        """A copy of `doc` with each named top-level field (when present) encrypted under the
        complaint's key."""
        return (await self.seal_many([(complaint_id, doc, fields)]))[0]

    async def seal_many(
        self,
        items: Sequence[tuple[str, Mapping[str, Any], Iterable[str]]],
        *,
        concurrency: int = 8,
        new: bool = False,
    ) -> list[Doc]:
        """`seal` of many documents `(complaint id, doc, fields)`, the same result in two key
        round trips whatever their number (issue 15: one by one, a complaint's key cost three,
        a fifth of the registry's and the notifier's time): one read of the keys that exist,
        one `insert_many` of the missing ones (two documents of one complaint share a key);
        libmongocrypt is then handed those keys instead of reading each again. `new`: the
        complaints are most likely new (a complaint's first record), so their keys are made and
        inserted without the read first; a key stored before (a redelivery, another replica) is
        refused by the unique index and read instead, as in a race."""
        wanted = [[f for f in fields if doc.get(f) is not None] for _, doc, fields in items]
        ids = sorted({cid for (cid, _, _), names in zip(items, wanted, strict=True) if names})
        if not ids:
            return [dict(doc) for _, doc, _ in items]
        held = {} if new and self._batched else await self._held_keys(ids)
        missing = [cid for cid in ids if cid not in held]
        if missing and self._batched:
            held.update(await self._make_keys(missing, concurrency))
        elif missing:
            await _gather_holding([self._create_key(c) for c in missing], concurrency)
        sealed = [dict(doc) for _, doc, _ in items]
        targets = [
            (copy, name, cid)
            for copy, (cid, _, _), names in zip(sealed, items, wanted, strict=True)
            for name in names
        ]
        values = await _gather_holding(
            [
                self._encryption.encrypt(
                    copy[name], Algorithm.AEAD_AES_256_CBC_HMAC_SHA_512_Random, key_alt_name=cid
                )
                for copy, name, cid in targets
            ],
            concurrency,
            _HELD,
            held if self._batched else None,
        )
        for (copy, name, _), value in zip(targets, values, strict=True):
            copy[name] = value
        return sealed

    async def _held_keys(self, complaint_ids: Sequence[str]) -> dict[str, bytes]:
        """The existing keys of these complaints, by alt name (one read)."""
        found = self._raw_keys.find({"keyAltNames": {"$in": list(complaint_ids)}})
        held: dict[str, bytes] = {}
        async for key in found:
            for name in key.get("keyAltNames") or []:
                held[str(name)] = bytes(key.raw)
        return held

    async def _make_keys(self, complaint_ids: Sequence[str], concurrency: int) -> dict[str, bytes]:
        """A new key for each complaint, made by libmongocrypt (wrapped by the KMS) and stored
        with one unordered `insert_many`. A key another replica or a redelivery stored first
        (the unique index on keyAltNames refuses ours) is read and used instead."""
        made: list[bytes] = []
        await _gather_holding(
            [
                self._encryption.create_data_key(
                    self._keys.kms_provider,
                    master_key=self._keys.master_key_spec or None,
                    key_alt_names=[cid],
                )
                for cid in complaint_ids
            ],
            concurrency,
            _MADE,
            made,
        )
        docs = [RawBSONDocument(raw) for raw in made]
        refused: list[int] = []
        try:
            await self._raw_keys.insert_many(docs, ordered=False)
        except BulkWriteError as error:
            for failure in error.details.get("writeErrors", []):
                if failure.get("code") != 11000:
                    raise
                refused.append(int(failure["index"]))
        held = {str(name): bytes(doc.raw) for doc in docs for name in doc["keyAltNames"]}
        if refused:
            lost = [str(name) for i in refused for name in docs[i]["keyAltNames"]]
            for name in lost:
                del held[name]
            theirs = await self._held_keys(lost)
            if set(lost) - theirs.keys():  # refused, yet not there: not a duplicate name
                raise EncryptionError(Exception("a data key was refused by the key vault"))
            held.update(theirs)
        return held

    async def open(self, doc: Mapping[str, Any]) -> Doc:
        """A copy of `doc` with its encrypted top-level fields in clear; a field whose key was
        erased reads as `ERASED`."""
        opened = dict(doc)
        for name, value in doc.items():
            if isinstance(value, Binary) and value.subtype == ENCRYPTED_SUBTYPE:
                try:
                    opened[name] = await self._encryption.decrypt(value)
                except EncryptionError:  # the key is gone: erased
                    opened[name] = dict(ERASED)
        return opened

    async def open_many(
        self, docs: Sequence[Mapping[str, Any]], *, concurrency: int = 8
    ) -> list[Doc]:
        """`open` of many documents, their keys read in one round trip whatever their number
        (one by one, each complaint's key was a read of its own when libmongocrypt's cache did
        not hold it): the key ids are in the ciphertexts; libmongocrypt is then handed those
        keys. A key that is gone (erased) is simply not among them: its fields read as
        `ERASED`, as with `open`."""
        opened = [dict(doc) for doc in docs]
        targets = [
            (copy, name, value)
            for copy in opened
            for name, value in copy.items()
            if _key_id(value) is not None
        ]
        if not targets:
            return opened
        ids = {key_id for _, _, value in targets if (key_id := _key_id(value)) is not None}
        held = await self._keys_by_id(sorted(ids)) if self._batched else None
        values = await _gather_holding(
            [self._decrypt(value) for _, _, value in targets], concurrency, _HELD_BY_ID, held
        )
        for (copy, name, _), value in zip(targets, values, strict=True):
            copy[name] = value
        return opened

    async def _keys_by_id(self, key_ids: Sequence[bytes]) -> dict[bytes, bytes]:
        """The keys with these ids that exist (one read), by id."""
        found = self._raw_keys.find({"_id": {"$in": [Binary(i, UUID_SUBTYPE) for i in key_ids]}})
        return {bytes(key["_id"]): bytes(key.raw) async for key in found}

    async def _decrypt(self, value: Binary) -> Any:
        try:
            return await self._encryption.decrypt(value)
        except EncryptionError:  # the key is gone: erased
            return dict(ERASED)

    async def erase(self, complaint_id: str) -> bool:
        """Delete the complaint's data key; True when there was one."""
        found = await self._encryption.get_key_by_alt_name(complaint_id)
        if found is None:
            return False
        await self._encryption.delete_key(found["_id"])
        return True

    async def rewrap(self) -> int:
        """Master key rotation: re-encrypt every data key under this vault's master key (built
        with `previous=` the old one), without touching a single complaint. Returns how many
        keys were rewrapped."""
        result = await self._encryption.rewrap_many_data_key(
            {},
            provider=self._keys.kms_provider,
            master_key=self._keys.master_key_spec or None,
        )
        written = result.bulk_write_result
        return 0 if written is None else written.modified_count

    async def close(self) -> None:
        await self._encryption.close()
