"""Hash-chained, insert-only audit entries (issue 16: who saw a complainant's identity), the part
every service keeping such a chain shares.

Entry n stores `seq` = n (the document key, so two writers cannot both append n), `prev` (entry
n-1's hash) and `hash` = SHA-256 over `prev` and the entry's canonical JSON (the fields listed in
`hashed`). An edited entry no longer matches its hash; a removed one leaves a gap in `seq` and a
`prev` that points nowhere. Times are kept to the millisecond, as the store returns them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterable, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
APPEND_ATTEMPTS = 100
Doc = dict[str, Any]


def millis(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def entry_hash(prev: str, doc: Doc, hashed: Sequence[str]) -> str:
    fields = {k: doc[k] for k in hashed}
    for name, value in fields.items():
        if isinstance(value, datetime):
            fields[name] = millis(value).isoformat()
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(prev.encode() + canonical.encode()).hexdigest()


def chained(last: Doc | None, entry: Doc, hashed: Sequence[str]) -> Doc:
    """`entry` as chain entry n+1 after `last` (None: the first): seq, _id, prev, hash."""
    seq = (last["seq"] + 1) if last else 1
    doc = {**entry, "seq": seq, "_id": seq, "prev": last["hash"] if last else GENESIS}
    doc["hash"] = entry_hash(doc["prev"], doc, [*hashed, "seq"])
    return doc


async def append(
    last: Callable[[], Awaitable[Doc | None]],
    insert: Callable[[Doc], Awaitable[bool]],
    entry: Doc,
    hashed: Sequence[str],
) -> Doc:
    """Append `entry` after the current tail; `insert` answers False when that seq exists (the
    writer that lost reads the new tail and tries again)."""
    for _ in range(APPEND_ATTEMPTS):
        doc = chained(await last(), entry, hashed)
        if await insert(doc):
            return doc
    raise RuntimeError("audit chain contended: no entry appended")


async def verify(docs: AsyncIterable[Doc], hashed: Sequence[str]) -> Doc:
    """Walk the chain in `seq` order; the first entry that does not follow is reported."""
    prev, expected, count = GENESIS, 1, 0
    async for doc in docs:
        good = entry_hash(prev, doc, [*hashed, "seq"]) == doc["hash"]
        if doc["seq"] != expected or doc["prev"] != prev or not good:
            return {"intact": False, "entries": count, "broken_at": expected}
        prev, expected, count = doc["hash"], expected + 1, count + 1
    return {"intact": True, "entries": count, "broken_at": None}
