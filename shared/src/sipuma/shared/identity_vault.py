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
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bson.binary import STANDARD, Binary
from bson.codec_options import CodecOptions
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pymongo import AsyncMongoClient
from pymongo.asynchronous.encryption import AsyncClientEncryption
from pymongo.encryption_shared import Algorithm
from pymongo.errors import DuplicateKeyError, EncryptionError

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

    async def ensure_key_vault(self) -> None:
        """The unique partial index on keyAltNames libmongocrypt's key vault requires."""
        await self._collection.create_index(
            "keyAltNames",
            unique=True,
            partialFilterExpression={"keyAltNames": {"$exists": True}},
            name="keyAltNames_unique",
        )

    async def _ensure_key(self, complaint_id: str) -> None:
        if await self._encryption.get_key_by_alt_name(complaint_id) is not None:
            return
        await self._create_key(complaint_id)

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
        sealed = dict(doc)
        wanted = [f for f in fields if sealed.get(f) is not None]
        if not wanted:
            return sealed
        await self._ensure_key(complaint_id)
        for name in wanted:
            sealed[name] = await self._encryption.encrypt(
                sealed[name],
                Algorithm.AEAD_AES_256_CBC_HMAC_SHA_512_Random,
                key_alt_name=complaint_id,
            )
        return sealed

    async def seal_many(
        self,
        items: Sequence[tuple[str, Mapping[str, Any], Iterable[str]]],
        *,
        concurrency: int = 8,
    ) -> list[Doc]:
        """`seal` of many documents `(complaint id, doc, fields)`, the same result, fewer round
        trips: one read finds which complaints have a key already (instead of one per document),
        each missing key is made once (two documents of one complaint share it), and the keys and
        values are made `concurrency` at a time, so their round trips overlap (issue 15: one by
        one they were a fifth of the notifier's time)."""
        wanted = [[f for f in fields if doc.get(f) is not None] for _, doc, fields in items]
        ids = sorted({cid for (cid, _, _), names in zip(items, wanted, strict=True) if names})
        if not ids:
            return [dict(doc) for _, doc, _ in items]
        found = self._collection.find({"keyAltNames": {"$in": ids}}, {"keyAltNames": 1})
        existing = {name async for key in found for name in key.get("keyAltNames", [])}
        gate = asyncio.Semaphore(concurrency)

        async def gated(work: Awaitable[Any]) -> Any:
            async with gate:
                return await work

        await asyncio.gather(*(gated(self._create_key(c)) for c in ids if c not in existing))
        sealed = [dict(doc) for _, doc, _ in items]
        targets = [
            (copy, name, cid)
            for copy, (cid, _, _), names in zip(sealed, items, wanted, strict=True)
            for name in names
        ]
        values = await asyncio.gather(
            *(
                gated(
                    self._encryption.encrypt(
                        copy[name],
                        Algorithm.AEAD_AES_256_CBC_HMAC_SHA_512_Random,
                        key_alt_name=cid,
                    )
                )
                for copy, name, cid in targets
            )
        )
        for (copy, name, _), value in zip(targets, values, strict=True):
            copy[name] = value
        return sealed

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
