"""The service-standard report (`sla.report`) on projected listing entries, and its JSON answer
(`api.DatedJSONResponse`): rows grouped per office in one pass, local dates per office."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sipuma.registry import sla
from sipuma.registry.api import DatedJSONResponse
from sipuma.shared.offices import Office, OfficeDirectory

OFFICES = OfficeDirectory(
    [
        Office(code="KPPBC-A", name="Kantor A", region="DKI Jakarta", timezone="Asia/Jakarta"),
        Office(code="KPPBC-B", name="Kantor B", region="Papua", timezone="Asia/Jayapura"),
    ]
)
MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def entry(
    office: str, received: datetime, took_minutes: float | None, number: str
) -> dict[str, object]:
    """A listing entry as `sla.READ_FIELDS` reads it (and `_id`, `received_at`)."""
    done = None if took_minutes is None else received + timedelta(minutes=took_minutes)
    return {
        "_id": number,
        "office_code": office,
        "received_at": received,
        "view": {
            "register_number": number,
            "intake_done_at": done,
            "intake_outcome": None if done is None else "ticket_sent",
        },
    }


def test_rows_are_grouped_per_office_by_local_date() -> None:
    at = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    # 31 March 16:00 UTC is 1 April 01:00 in Jayapura (WIT): outside B's March, inside A's.
    late = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    found = sla.report(
        [
            entry("KPPBC-A", at, 10, "A/1"),
            entry("KPPBC-B", at, 45, "B/1"),
            entry("KPPBC-A", at + timedelta(hours=1), None, "A/2"),
            entry("KPPBC-B", late, 5, "B/2"),
            entry("KPPBC-A", late, 20, "A/3"),
        ],
        OFFICES,
        *MARCH,
    )
    by_code = {o["office_code"]: o for o in found["offices"]}
    assert by_code["KPPBC-A"] == {
        "office_code": "KPPBC-A",
        "office_name": "Kantor A",
        "count": 3,
        "completed": 2,
        "median_minutes": 15.0,
        "within_standard": 2,
        "share_within_standard": 0.6667,
    }
    assert (by_code["KPPBC-B"]["count"], by_code["KPPBC-B"]["within_standard"]) == (1, 0)
    numbers = [r["register_number"] for r in found["complaints"]]
    assert numbers == ["A/1", "A/2", "A/3", "B/1"]


def test_an_office_without_complaints_is_listed_empty() -> None:
    found = sla.report([], OFFICES, *MARCH, ["KPPBC-B"])
    assert found["offices"] == [
        {
            "office_code": "KPPBC-B",
            "office_name": "Kantor B",
            "count": 0,
            "completed": 0,
            "median_minutes": None,
            "within_standard": 0,
            "share_within_standard": None,
        }
    ]


def test_the_json_answer_gives_datetimes_as_iso_8601() -> None:
    at = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    found = sla.report([entry("KPPBC-A", at, 10, "A/1")], OFFICES, *MARCH, ["KPPBC-A"])
    body = json.loads(bytes(DatedJSONResponse(found).body))
    row = body["complaints"][0]
    assert row["received_at"] == "2026-03-10T03:00:00+00:00"
    assert row["intake_done_at"] == "2026-03-10T03:10:00+00:00"
    assert body["from"] == "2026-03-01"
