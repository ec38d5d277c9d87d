"""Office statistics and exports over HTTP on the real store, against a hand count of a seeded
month in three offices in three time zones (WIB, WITA, WIT): the local date decides, at both
ends of the month; counts by channel, status and category (kategori pengaduan, with "belum
dikategorikan" / uncategorised); JSON, CSV, XLSX and the streamed per-complaint CSV; office scope
and roles."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from openpyxl import load_workbook
from registry_testkit.wiring import TOKEN_SECRET, BuildRegistry

from sipuma.registry.main import Runtime
from sipuma.registry.store import Store
from sipuma.shared.auth import Role, mint_token

pytestmark = pytest.mark.integration
A, B, C = "KPUBC-TPK-TJPRIOK", "KPPBC-TMP-NGURAHRAI", "KPPBC-TMP-JAYAPURA"  # WIB, WITA, WIT
WIB, WITA, WIT = (timedelta(hours=h) for h in (7, 8, 9))
PASSED, COMING = datetime(2026, 11, 5, tzinfo=UTC), datetime(2099, 1, 10, tzinfo=UTC)


def _entry(
    office: str,
    local: datetime,
    offset: timedelta,
    channel: str,
    status: str,
    to_number: float,
    intake: float | None = None,
    notifications: dict[str, Any] | None = None,
    due: datetime | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    received = (local - offset).replace(tzinfo=UTC)
    view: dict[str, Any] = {
        "status": status,
        "register_number": f"PGD/{office}/2026/{uuid4().hex[:6]}",
        "registered_at": received + timedelta(minutes=to_number),
        "intake_done_at": received + timedelta(minutes=intake) if intake is not None else None,
        "notifications": notifications or {},
    }
    entry = {
        "_id": str(uuid4()),
        "office_code": office,
        "received_at": received,
        "channel": channel,
        "view": view,
    }
    if category:  # as `Store.set_category` keeps it: beside the view
        entry["category"] = category
    if due:  # as `Store.set_view` keeps it: in the view, and on top for the overdue index
        view["deadline"] = {"stage": "verification", "due_at": due}
        entry["due_at"] = due
    return entry


SENT = {"status": "sent"}
FAILED = {"status": "failed", "final": True}
MONTH = [
    # A (WIB): the first minutes of 1 Nov local are still 31 Oct in UTC: counted.
    _entry(A, datetime(2026, 11, 1, 0, 30), WIB, "in_person", "registered", 2, 20,
           {"email": SENT}, PASSED, "gratifikasi-suap"),
    _entry(A, datetime(2026, 11, 30, 23, 50), WIB, "email", "closed", 4, 40, {"sms": FAILED}),
    _entry(A, datetime(2026, 12, 1, 0, 10), WIB, "email", "registered", 1,  # December: out
           category="lainnya"),
    # B (WITA)
    _entry(B, datetime(2026, 11, 15, 10, 0), WITA, "letter", "verified", 10, None, None, COMING,
           "pelayanan"),
    _entry(B, datetime(2026, 10, 31, 23, 30), WITA, "letter", "registered", 1),  # October: out
    # C (WIT): exactly 30 minutes is within the standard.
    _entry(C, datetime(2026, 11, 1, 1, 0), WIT, "telephone", "in_follow_up", 6, 30,
           {"email": SENT, "sms": FAILED}, datetime(2026, 11, 20, tzinfo=UTC), "pelayanan"),
    _entry(C, datetime(2026, 11, 10, 9, 0), WIT, "in_person", "registered", 1,
           category="pungutan-liar"),
    _entry(C, datetime(2026, 11, 20, 9, 0), WIT, "in_person", "registered", 3),
]  # fmt: skip
HAND_COUNT = {
    A: {
        "complaints": 2,
        "by_channel": {"email": 1, "in_person": 1},
        "by_status": {"closed": 1, "registered": 1},
        "by_category": {"gratifikasi-suap": 1, "uncategorised": 1},
        "median_minutes_to_number": 3.0,
        "p90_minutes_to_number": 3.8,  # 2 + (4 - 2) * 0.9
        "within_30_minutes": 1,
        "share_within_30_minutes": 0.5,
        "notifications_sent": 1,
        "notifications_failed": 1,
        "overdue": 1,
    },
    B: {
        "complaints": 1,
        "by_channel": {"letter": 1},
        "by_status": {"verified": 1},
        "by_category": {"pelayanan": 1},
        "median_minutes_to_number": 10.0,
        "p90_minutes_to_number": 10.0,
        "within_30_minutes": 0,
        "share_within_30_minutes": 0.0,
        "notifications_sent": 0,
        "notifications_failed": 0,
        "overdue": 0,
    },
    C: {
        "complaints": 3,
        "by_channel": {"in_person": 2, "telephone": 1},
        "by_status": {"in_follow_up": 1, "registered": 2},
        "by_category": {"pelayanan": 1, "pungutan-liar": 1, "uncategorised": 1},
        "median_minutes_to_number": 3.0,  # 1, 3, 6
        "p90_minutes_to_number": 5.4,  # 3 + (6 - 3) * 0.8
        "within_30_minutes": 1,
        "share_within_30_minutes": 0.3333,
        "notifications_sent": 1,
        "notifications_failed": 1,
        "overdue": 1,
    },
}


def auth(office: str, *roles: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(TOKEN_SECRET, 'officer-1', office, roles)}"}


def client(built: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=built.app), base_url="http://r")


async def test_statistics_match_a_hand_count_in_three_time_zones(
    store: Store, build_registry: BuildRegistry
) -> None:
    await store.listing.insert_many([dict(e) for e in MONTH])
    built, _ = build_registry()
    month = {"from": "2026-11-01", "to": "2026-11-30"}
    async with client(built) as http:
        spv = auth(A, Role.SUPERVISOR)
        found = (await http.get("/v1/statistics", params=month, headers=spv)).json()
        by_office = {o["office_code"]: o for o in found["offices"]}
        for office, expected in HAND_COUNT.items():
            shown = {k: by_office[office][k] for k in expected}
            # Every category of the list is counted, zero too; the hand count names the others.
            assert set(shown["by_category"]) >= {"lainnya", "uncategorised"}
            shown["by_category"] = {k: n for k, n in shown["by_category"].items() if n}
            assert shown == expected, office
        assert found["category_labels"]["uncategorised"]["id"] == "Belum dikategorikan"
        assert by_office[C]["notifications"] == {
            "email": {"sent": 1, "failed": 0},
            "sms": {"sent": 0, "failed": 1},
        }
        assert by_office[B]["timezone"] == "WITA"

        # Compliance staff: their own office only; a receiver: none.
        own = await http.get("/v1/statistics", params=month, headers=auth(B, Role.COMPLIANCE))
        assert [o["office_code"] for o in own.json()["offices"]] == [B]
        other = await http.get(
            "/v1/statistics", params={**month, "office": A}, headers=auth(B, Role.COMPLIANCE)
        )
        assert other.status_code == 403
        receiver = await http.get("/v1/statistics", params=month, headers=auth(B, Role.RECEIVER))
        assert receiver.status_code == 403
        assert receiver.json()["messages"]["id"].startswith("Statistik hanya")

        # CSV and XLSX: the same numbers.
        csv_answer = await http.get(
            "/v1/statistics", params={**month, "office": C, "format": "csv"}, headers=spv
        )
        rows = list(csv.DictReader(io.StringIO(csv_answer.content.decode("utf-8-sig"))))
        assert len(rows) == 1 and rows[0]["complaints"] == "3"
        assert rows[0]["p90_minutes_to_number"] == "5.4" and rows[0]["channel_telephone"] == "1"
        assert (rows[0]["category_pelayanan"], rows[0]["category_uncategorised"]) == ("1", "1")
        assert rows[0]["category_gratifikasi-suap"] == "0"
        xlsx = await http.get(
            "/v1/statistics", params={**month, "office": C, "format": "xlsx"}, headers=spv
        )
        sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).active
        assert sheet is not None
        values = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert dict(zip(values[0], values[1], strict=True))["overdue"] == 1
        assert dict(zip(values[0], values[1], strict=True))["category_pungutan-liar"] == 1

        # The streamed per-complaint export: the six complaints of the month, local times.
        export = await http.get("/v1/statistics/complaints", params=month, headers=spv)
        lines = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
        assert len(lines) == 6
        first_wib = [r for r in lines if r["received_at_local"] == "2026-11-01T00:30:00"]
        assert first_wib[0]["office_code"] == A and first_wib[0]["overdue"] == "Ya"
        assert first_wib[0]["category"] == "gratifikasi-suap"
        assert sorted(r["category"] for r in lines).count("uncategorised") == 2

        # The same export as XLSX: the same columns and rows, local times as date-times; and
        # office-scoped as the CSV (compliance staff: their own office, never another's).
        answer = await http.get(
            "/v1/statistics/complaints", params={**month, "format": "xlsx"}, headers=spv
        )
        assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert (
            'pengaduan-kantor-2026-11-01-2026-11-30.xlsx"' in answer.headers["content-disposition"]
        )
        book = load_workbook(io.BytesIO(answer.content), read_only=True).active
        assert book is not None
        cells = [list(r) for r in book.iter_rows(values_only=True)]
        assert cells[0] == next(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
        as_csv = {r["register_number"]: r for r in lines}
        assert len(cells) == 7 and {r[1] for r in cells[1:]} == set(as_csv)
        for row in (dict(zip(cells[0], r, strict=True)) for r in cells[1:]):
            expected = as_csv[row["register_number"]]
            assert row["received_at_local"] == datetime.fromisoformat(
                str(expected["received_at_local"])
            )
            assert row["office_code"] == expected["office_code"]
            assert str(row["overdue"]) == expected["overdue"]
        own = await http.get(
            "/v1/statistics/complaints",
            params={**month, "format": "xlsx"},
            headers=auth(C, Role.COMPLIANCE),
        )
        own_sheet = load_workbook(io.BytesIO(own.content), read_only=True).active
        assert own_sheet is not None
        assert {r[0] for r in list(own_sheet.iter_rows(values_only=True))[1:]} == {C}
        elsewhere = await http.get(
            "/v1/statistics/complaints",
            params={**month, "format": "xlsx", "office": A},
            headers=auth(C, Role.COMPLIANCE),
        )
        assert elsewhere.status_code == 403


async def test_overdue_list_longest_first_in_scope(store: Store, build_registry: BuildRegistry):
    await store.listing.insert_many([dict(e) for e in MONTH])
    built, _ = build_registry()
    async with client(built) as http:
        every = (await http.get("/v1/overdue", headers=auth(A, Role.SUPERVISOR))).json()
        assert every["total"] == 2
        assert [i["office_code"] for i in every["items"]] == [A, C]  # due 5 Nov, then 20 Nov
        assert all(i["overdue"] and i["stage"] == "verification" for i in every["items"])
        own = (await http.get("/v1/overdue", headers=auth(C, Role.COMPLIANCE))).json()
        assert [i["office_code"] for i in own["items"]] == [C]
        assert (await http.get("/v1/overdue", headers=auth(B, Role.COMPLIANCE))).json() == {
            "total": 0,
            "items": [],
        }


async def test_staff_list_sorted_due_puts_overdue_first(
    store: Store, build_registry: BuildRegistry
):
    """`sort=due`: every complaint with a deadline, whenever received, overdue ones (5 Nov,
    20 Nov) first, then the one still to come (2099); those without a deadline are not in this
    order. Office scope."""
    await store.listing.insert_many([dict(e) for e in MONTH])
    built, _ = build_registry()
    async with client(built) as http:
        spv = auth(A, Role.SUPERVISOR)
        autumn = {"from": "2026-10-01T00:00:00Z", "to": "2026-12-31T00:00:00Z"}
        # A receipt range holding none of them: the deadline order does not use it.
        due = {"from": "2026-11-25T00:00:00Z", "to": "2026-11-26T00:00:00Z", "sort": "due"}
        found = (await http.get("/v1/complaints", params=due, headers=spv)).json()
        items = found["items"]
        assert [(i["office_code"], i["overdue"]) for i in items] == [
            (A, True),
            (C, True),
            (B, False),
        ]
        assert found["total"] == 3 and items[2]["due_at"].startswith("2099-01-10")
        newest = (await http.get("/v1/complaints", params=autumn, headers=spv)).json()["items"]
        assert newest[0]["received_at"] > newest[-1]["received_at"] and len(newest) == 8
        own = await http.get("/v1/complaints", params=due, headers=auth(C, Role.RECEIVER))
        assert [i["office_code"] for i in own.json()["items"]] == [C]
        wrong = await http.get("/v1/complaints", params={**autumn, "sort": "x"}, headers=spv)
        assert wrong.status_code == 422 and "sort" in wrong.text
        # The same order in the search (issue 20) and in the list's export.
        searched = await http.post("/v1/complaints/search", json=due, headers=spv)
        assert [i["office_code"] for i in searched.json()["items"]] == [A, C, B]
        exported = await http.get("/v1/complaints", params={**due, "format": "csv"}, headers=spv)
        lines = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert [r["office_code"] for r in lines] == [A, C, B]


async def test_every_report_refuses_a_backwards_range(build_registry: BuildRegistry) -> None:
    """`from` after `to` is a 422 naming `query.from` in both languages on every report and
    export (one `ReportRange` dependency), never an empty answer that looks like a quiet month."""
    built, _ = build_registry()
    backwards = {"from": "2026-11-03", "to": "2026-11-02"}
    async with client(built) as http:
        spv = auth(A, Role.SUPERVISOR)
        for path in (
            "/v1/statistics",
            "/v1/statistics/complaints",
            "/v1/reports/service-standard",
        ):
            answer = await http.get(path, params=backwards, headers=spv)
            assert answer.status_code == 422, path
            problem = answer.json()
            (param,) = problem["invalid-params"]
            assert (param["name"], param["code"]) == ("query.from", "range_backwards"), path
            assert param["messages"]["id"].startswith("Tanggal `from`"), path
            too_late = await http.get(path, params={"from": "9999-12-31", "to": "9999-12-31"})
            assert too_late.status_code in (401, 422), path
