"""A grouped read of several complaints' facts or steps gives each document once, even when the
store's cursor returns one again (on DocumentDB: updated between two batches of the cursor)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from sipuma.registry.store import _by_complaint

pytestmark = pytest.mark.unit


class _Found:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs

    async def to_list(self) -> list[dict[str, Any]]:
        return self.docs


class _MetAgain:
    """A collection whose cursor returns the first document a second time at its end."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs

    def find(self, query: dict[str, Any]) -> _Found:
        return _Found([*self.docs, {**self.docs[0], "outbox": {"sent": True}}])


async def test_a_document_met_again_is_given_once() -> None:
    docs = [
        {"_id": "s1", "complaint_id": "a", "status": "verified"},
        {"_id": "s2", "complaint_id": "a", "status": "closed"},
        {"_id": "s3", "complaint_id": "b", "status": "verified"},
    ]
    found = await _by_complaint(cast(Any, _MetAgain(docs)), ["a", "b", "c"])
    assert [[d["_id"] for d in cast(list[dict[str, Any]], one)] for one in found] == [
        ["s1", "s2"],
        ["s3"],
        [],
    ]
    # The later version (as read last) is the one kept.
    assert cast(list[dict[str, Any]], found[0])[0]["outbox"] == {"sent": True}
