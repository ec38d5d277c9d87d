"""The shared plan reader (`tests/harness/plans.py`) on the plan shapes each store answers with."""

from __future__ import annotations

import pytest

from tests.harness.plans import assert_index_backed, summarize, uses_index

pytestmark = pytest.mark.unit

# DocumentDB gateway, find on an indexed field (PostgreSQL: Index Scan → FETCH + IXSCAN).
DOCUMENTDB_INDEXED = {
    "queryPlanner": {
        "namespace": "db.listing",
        "winningPlan": {
            "stage": "FETCH",
            "estimatedTotalKeysExamined": 1,
            "inputStage": {
                "stage": "IXSCAN",
                "indexName": "view_register_number",
                "estimatedTotalKeysExamined": 1,
            },
        },
    },
    "explainVersion": 2.0,
    "ok": 1.0,
}
# DocumentDB gateway, filter + sort: the index for the filter, the sort in memory.
DOCUMENTDB_SORTED = {
    "queryPlanner": {
        "winningPlan": {
            "stage": "LIMIT",
            "inputStage": {
                "stage": "SORT",
                "sortKeysCount": 2,
                "inputStage": {
                    "stage": "FETCH",
                    "inputStage": {"stage": "IXSCAN", "indexName": "office_received"},
                },
            },
        }
    }
}
DOCUMENTDB_SEQ = {"queryPlanner": {"winningPlan": {"stage": "COLLSCAN"}}}
# MongoDB: slot-based engine, find by an index; a rejected plan scanned the collection.
MONGODB_SBE = {
    "queryPlanner": {
        "winningPlan": {
            "queryPlan": {
                "stage": "FETCH",
                "inputStage": {"stage": "IXSCAN", "indexName": "ticket_hash"},
            },
            "slotBasedPlan": {"stages": "[2] nlj ..."},
        },
        "rejectedPlans": [{"stage": "COLLSCAN"}],
    }
}
MONGODB_ID = {"queryPlanner": {"winningPlan": {"stage": "EXPRESS_IDHACK"}}}
MONGODB_AGGREGATE = {
    "stages": [
        {
            "$cursor": {
                "queryPlanner": {
                    "winningPlan": {
                        "stage": "PROJECTION_COVERED",
                        "inputStage": {"stage": "IXSCAN", "indexName": "office_received"},
                    }
                }
            }
        },
        {"$group": {}},
    ]
}
# Raw PostgreSQL nodes (the gateway's developer explain).
POSTGRES_RAW = {"Plan": {"Node Type": "Seq Scan", "Relation Name": "documents_12"}}


def test_an_index_scan_is_index_backed_and_named():
    summary = assert_index_backed(DOCUMENTDB_INDEXED, "view_register_number")
    assert summary.indexes == {"view_register_number"}
    assert not summary.in_memory_sort


def test_a_sort_after_an_index_scan_is_reported():
    summary = summarize(DOCUMENTDB_SORTED)
    assert summary.index_backed and summary.in_memory_sort
    with pytest.raises(AssertionError, match="sorts in memory"):
        assert_index_backed(DOCUMENTDB_SORTED, sorted_by_index=True)


@pytest.mark.parametrize("plan", [DOCUMENTDB_SEQ, POSTGRES_RAW])
def test_a_full_scan_is_refused(plan):
    assert not uses_index(plan)
    with pytest.raises(AssertionError, match="whole collection"):
        assert_index_backed(plan)


def test_only_the_winning_plan_counts():
    assert uses_index(MONGODB_SBE, "ticket_hash")
    assert uses_index(MONGODB_ID, "_id_")
    assert uses_index(MONGODB_AGGREGATE, "office_received")


def test_a_named_index_must_be_the_one_read():
    with pytest.raises(AssertionError, match="does not read index 'other'"):
        assert_index_backed(DOCUMENTDB_INDEXED, "other")
