"""On a store that does not know DocumentDB's ordered-index option (MongoDB answers 197), the
same keys are created as a plain index."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import OperationFailure

from sipuma.shared.mongo import ORDERED_OPTION, create_indexes, ordered_index

pytestmark = pytest.mark.unit


class RefusingOrdered:
    """A collection that refuses the ordered option as MongoDB does, and records the rest."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    async def create_indexes(self, models: list[IndexModel]) -> list[str]:
        if any(ORDERED_OPTION in m.document for m in models):
            raise OperationFailure("The field 'enableOrderedIndex' is not valid", code=197)
        self.created += [m.document for m in models]
        return [m.document["name"] for m in models]


async def test_ordered_index_falls_back_to_a_plain_index() -> None:
    items = RefusingOrdered()
    db: Any = {"items": items}
    keys = [("office", ASCENDING), ("at", DESCENDING)]
    await create_indexes(db, {"items": [ordered_index(keys, name="office_at", sparse=True)]})
    assert items.created == [
        {"key": {"office": ASCENDING, "at": DESCENDING}, "name": "office_at", "sparse": True}
    ]
