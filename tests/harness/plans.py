"""Reading query plans: did a query use an index, and which?

Works on the `explain` answer of MongoDB (classic and slot-based plans, find and aggregate) and of
the DocumentDB gateway, which translates PostgreSQL's plan into the same vocabulary (`Seq Scan` →
`COLLSCAN`; an index scan → `IXSCAN` with `indexName`, under a `FETCH`; a scan of the primary key
that is bounded only by the shard key, i.e. the whole collection, is reported as `COLLSCAN` too).
Raw PostgreSQL plan nodes (`"Node Type"`, as in the gateway's developer explain) are read as well.

Only the winning plan counts: `rejectedPlans` and per-plan execution trials are skipped.

The DocumentDB gateway explains `find`, `aggregate`, `count` and `distinct` only: explain an update
or `findAndModify` through the `find` with the same filter (same planner, same indexes).

Usage in a test::

    plan = await explain_find(collection, {"office_code": "KPU"}, sort=[("received_at", -1)])
    assert_index_backed(plan, "office_received")
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

# Keys whose content is not the plan that runs.
_SKIPPED = frozenset({"rejectedPlans", "allPlansExecution", "command", "slotBasedPlan"})
# Stages that read the whole collection.
_FULL_SCANS = frozenset({"COLLSCAN", "Seq Scan", "Parallel Seq Scan"})
# Stages that read an index by key (the names MongoDB uses without an `indexName`).
_ID_LOOKUPS = frozenset({"IDHACK", "EXPRESS_IDHACK", "CLUSTERED_IXSCAN"})
# Sorts done in memory after the scan (a blocking sort: cost grows with what matched).
_SORTS = frozenset({"SORT", "Sort", "Incremental Sort"})


@dataclass(frozen=True)
class PlanSummary:
    stages: tuple[str, ...]  # every stage of the winning plan(s), outermost first
    indexes: frozenset[str]  # names of the indexes read
    full_scan: bool  # some stage reads the whole collection
    in_memory_sort: bool  # some stage sorts what the scan returned

    @property
    def index_backed(self) -> bool:
        """Every read goes through an index: at least one index, and no full scan."""
        return bool(self.indexes) and not self.full_scan


def _stage_of(node: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(stage name, index name) of a plan node, or (None, None) if it is not one."""
    stage = node.get("stage")
    if isinstance(stage, str):
        index = node.get("indexName")
        if not isinstance(index, str) and stage in _ID_LOOKUPS:
            index = "_id_"
        return stage, index if isinstance(index, str) else None
    node_type = node.get("Node Type")  # a raw PostgreSQL plan node
    if isinstance(node_type, str):
        index = node.get("Index Name")
        return node_type, index if isinstance(index, str) else None
    return None, None


def _walk(value: Any) -> Iterator[tuple[str, str | None]]:
    if isinstance(value, Mapping):
        stage, index = _stage_of(value)
        if stage is not None:
            yield stage, index
        for key, child in value.items():
            if key not in _SKIPPED:
                yield from _walk(child)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        for child in value:
            yield from _walk(child)


def summarize(explain: Mapping[str, Any]) -> PlanSummary:
    found = list(_walk(explain))
    stages = tuple(stage for stage, _ in found)
    return PlanSummary(
        stages=stages,
        indexes=frozenset(index for _, index in found if index is not None),
        full_scan=any(stage in _FULL_SCANS for stage in stages),
        in_memory_sort=any(stage in _SORTS for stage in stages),
    )


def uses_index(explain: Mapping[str, Any], index: str | None = None) -> bool:
    """True when the plan is index-backed (and, if `index` is named, reads that index)."""
    summary = summarize(explain)
    return summary.index_backed and (index is None or index in summary.indexes)


def assert_index_backed(
    explain: Mapping[str, Any], index: str | None = None, *, sorted_by_index: bool = False
) -> PlanSummary:
    """Fail with the plan shown unless it is index-backed (reading `index` if named; with
    `sorted_by_index`, also without an in-memory sort)."""
    summary = summarize(explain)
    problems = []
    if summary.full_scan:
        problems.append("reads the whole collection")
    if not summary.indexes:
        problems.append("reads no index")
    if index is not None and index not in summary.indexes:
        problems.append(f"does not read index {index!r} (read: {sorted(summary.indexes)})")
    if sorted_by_index and summary.in_memory_sort:
        problems.append("sorts in memory")
    if problems:
        shown = json.dumps(explain.get("queryPlanner", explain), default=str, indent=1)
        raise AssertionError(f"plan {', '.join(problems)}; stages {summary.stages}:\n{shown}")
    return summary


async def explain_find(
    collection: AsyncCollection[Any],
    query: Mapping[str, Any],
    *,
    projection: Mapping[str, Any] | None = None,
    sort: Sequence[tuple[str, int]] | None = None,
    limit: int = 0,
    verbosity: str = "queryPlanner",
) -> dict[str, Any]:
    """`explain` of a find, with the verbosity asked for (PyMongo's `Cursor.explain` cannot)."""
    command: dict[str, Any] = {"find": collection.name, "filter": dict(query)}
    if projection is not None:
        command["projection"] = dict(projection)
    if sort:
        command["sort"] = dict(sort)
    if limit:
        command["limit"] = limit
    return await collection.database.command("explain", command, verbosity=verbosity)


async def explain_aggregate(
    collection: AsyncCollection[Any],
    pipeline: Sequence[Mapping[str, Any]],
    *,
    verbosity: str = "queryPlanner",
) -> dict[str, Any]:
    command = {"aggregate": collection.name, "pipeline": list(pipeline), "cursor": {}}
    return await collection.database.command("explain", command, verbosity=verbosity)


async def explain_count(
    collection: AsyncCollection[Any], query: Mapping[str, Any], *, verbosity: str = "queryPlanner"
) -> dict[str, Any]:
    command = {"count": collection.name, "query": dict(query)}
    return await collection.database.command("explain", command, verbosity=verbosity)
