"""Staff HTTP API (OpenAPI): list and read the office's complaints, move the follow-up status,
the needs-attention list, the service-standard report. Bearer token as for intake; office scope,
supervisors see all. Each route parses, checks the caller's role, calls one use case; domain
errors become problem+json in `problems.py`."""

# No `from __future__ import annotations`: FastAPI must see the route-local `Caller` alias.

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from sipuma.registry import sla, statistics
from sipuma.registry.audit import AuditTrail
from sipuma.registry.domain import ComplaintFilter, OfficeScope, Status, attention_messages
from sipuma.registry.queries import Queries
from sipuma.registry.service import Registry
from sipuma.shared.auth import Principal, Role, TokenVerifier, bearer_principal, forbidden
from sipuma.shared.correlation import current_correlation_id
from sipuma.shared.payloads import Channel
from sipuma.shared.problems import InvalidParam, Messages, unprocessable

OTHER_OFFICE = (
    "Anda hanya dapat melihat pengaduan kantor Anda sendiri.",
    "You can only see complaints of your own office.",
)


class ComplaintSummary(BaseModel):
    complaint_id: str
    office_code: str
    register_number: str | None
    channel: str
    received_at: datetime
    status: str
    ticket_issued: bool
    notification_failed: bool
    stage: str | None = Field(None, description="Tahap tindak lanjut / follow-up stage")
    due_at: datetime | None = Field(None, description="Tenggat (hari kerja) / working-day deadline")
    overdue: bool = False


class OverdueList(BaseModel):
    total: int
    items: list[ComplaintSummary]


class ComplaintPage(BaseModel):
    total: int = Field(
        description="Jumlah yang cocok, dihitung sampai 1.000 (atau sampai halaman ini) / "
        "matches, counted up to 1,000 (or up to this page)"
    )
    total_exact: bool = Field(
        description="false: ada lebih dari `total` (persempit filter) / "
        "false: there are more than `total` (narrow the filter)"
    )
    page: int
    page_size: int
    items: list[ComplaintSummary]


class AttentionItem(BaseModel):
    complaint_id: str
    office_code: str
    channel: str
    received_at: datetime
    saved_at: datetime
    reason: str = Field(description="Kode alasan / reason code, e.g. unknown_office")
    since: datetime
    messages: Messages


class AttentionList(BaseModel):
    """Pengaduan yang belum dapat diberi nomor / complaints that could not be numbered yet."""

    total: int
    items: list[AttentionItem]


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status = Field(description="Status baru / new status")
    note: str = Field(min_length=1, max_length=2000, description="Catatan / note")


class StatusChanged(BaseModel):
    register_number: str
    from_status: str
    to_status: str
    at: datetime


def _scope(principal: Principal, office: str | None = None) -> OfficeScope:
    """The offices this caller reads: the one asked for (if theirs), else every office for a
    supervisor and their own for anyone else."""
    if office is not None:
        if not principal.may_act_for(office):
            raise forbidden(*OTHER_OFFICE)
        return OfficeScope(frozenset({office}))
    if principal.has(Role.SUPERVISOR):
        return OfficeScope(None)
    return OfficeScope(frozenset({principal.office_code}))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATISTICS_ROLES = (
    "Statistik hanya untuk petugas kepatuhan (UKI) dan supervisor.",
    "Statistics are for compliance staff and supervisors only.",
)
REPORT_FIRST, REPORT_LAST = date(2000, 1, 1), date(2999, 12, 31)
LIST_DEFAULT_DAYS, LIST_MAX_DAYS = 31, 366
RANGE_TOO_LONG = (
    f"Rentang from..to paling lama {LIST_MAX_DAYS} hari.",
    f"The range from..to may span at most {LIST_MAX_DAYS} days.",
)


def _window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """(start, end) of a list request: a missing `to` is now, a missing `from` 31 days before
    `to`; a range over 366 days is refused (422 naming `from`)."""
    end = _aware(end) if end else datetime.now(UTC)
    start = _aware(start) if start else end - timedelta(days=LIST_DEFAULT_DAYS)
    if end - start > timedelta(days=LIST_MAX_DAYS):
        raise unprocessable(
            [
                InvalidParam(
                    name="query.from",
                    code="range_too_long",
                    reason=RANGE_TOO_LONG[0],
                    messages=Messages(id=RANGE_TOO_LONG[0], en=RANGE_TOO_LONG[1]),
                )
            ]
        )
    return start, end


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# What the detail shows of the complainant (audited, issue 16).
IDENTITY_FIELDS = ("complainant", "elements", "tracking_contact", "contacts", "supplements")
DEFAULT_PURPOSE = "tindak lanjut pengaduan"


def _supervisor_only(caller: Principal) -> None:
    if not caller.has(Role.SUPERVISOR):
        raise forbidden(
            "Hanya supervisor yang dapat melihat audit akses identitas.",
            "Only supervisors can see the identity-access audit.",
        )


def staff_router(
    registry: Registry, queries: Queries, verifier: TokenVerifier, audit: AuditTrail
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["staf / staff"])
    Caller = Annotated[Principal, Depends(bearer_principal(verifier))]

    @router.get(
        "/complaints",
        response_model=ComplaintPage,
        summary="Daftar pengaduan, terbaru dulu / List, newest first",
        description="Dalam rentang waktu `from`..`to` (bawaan: 31 hari terakhir, paling lama "
        "366 hari). / Within `from`..`to` (default: the last 31 days; at most 366 days).",
    )
    async def list_complaints(
        caller: Caller,
        office: str | None = None,
        received_from: Annotated[datetime | None, Query(alias="from")] = None,
        received_to: Annotated[datetime | None, Query(alias="to")] = None,
        status: str | None = None,
        channel: Channel | None = None,
        notification_failed: bool | None = None,
        page: Annotated[int, Query(ge=1, le=10_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> ComplaintPage:
        start, end = _window(received_from, received_to)
        wanted = ComplaintFilter(
            start=start,
            end=end,
            scope=_scope(caller, office),
            status=status or None,
            channel=channel,
            notification_failed=notification_failed,
        )
        found = await queries.page(wanted, page, page_size)
        now = datetime.now(UTC)
        items = [_summary(d, now) for d in found.items]
        return ComplaintPage(
            total=found.total,
            total_exact=found.total_exact,
            page=page,
            page_size=page_size,
            items=items,
        )

    @router.get(
        "/attention",
        response_model=AttentionList,
        summary="Pengaduan yang perlu ditangani / Complaints that need attention (supervisor)",
    )
    async def needing_attention(
        caller: Caller, limit: Annotated[int, Query(ge=1, le=1000)] = 200
    ) -> AttentionList:
        if not caller.has(Role.SUPERVISOR):
            raise forbidden(
                "Hanya supervisor yang dapat melihat daftar ini.",
                "Only supervisors can see this list.",
            )
        found = await queries.needing_attention(limit)
        items = []
        for doc in found.items:
            reason = doc["attention"]["reason"]
            id_text, en_text = attention_messages(reason)
            items.append(
                AttentionItem(
                    complaint_id=doc["_id"],
                    office_code=doc["office_code"],
                    channel=doc["channel"],
                    received_at=doc["received_at"],
                    saved_at=doc["saved_at"],
                    reason=reason,
                    since=doc["attention"]["since"],
                    messages=Messages(id=id_text, en=en_text),
                )
            )
        return AttentionList(total=found.total, items=items)

    @router.delete(
        "/complaints/{register_number:path}/identity",
        summary="Hapus identitas pengadu / Erase the complainant's identity (supervisor)",
        description="Menghapus kunci data pengaduan: identitas dan uraian tidak terbaca lagi, "
        "statistik tetap. / Deletes the complaint's data key: identity and texts become "
        "unreadable, statistics stay.",
    )
    async def erase_identity(register_number: str, caller: Caller) -> Any:
        if not caller.has(Role.SUPERVISOR):
            raise forbidden(
                "Hanya supervisor yang dapat menghapus identitas pengadu.",
                "Only supervisors can erase a complainant's identity.",
            )
        erased = await registry.erase_identity(register_number, caller.officer_id)
        return {"register_number": register_number, "erased": erased}

    @router.get(
        "/audit/identity-reads",
        summary="Siapa melihat identitas pengadu / Who saw a complainant's identity (supervisor)",
    )
    async def identity_reads(
        caller: Caller,
        register_number: Annotated[str | None, Query(max_length=64)] = None,
        officer_id: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> Any:
        _supervisor_only(caller)
        complaint_id = None
        if register_number is not None:
            complaint_id = await queries.complaint_id_of(register_number, _scope(caller))
        found = await audit.entries(complaint_id, officer_id, limit)
        return {"items": [{k: v for k, v in d.items() if k != "_id"} for d in found]}

    @router.get(
        "/audit/identity-reads/verify",
        summary="Periksa rantai audit / Check the audit chain (supervisor)",
    )
    async def verify_identity_reads(caller: Caller) -> Any:
        _supervisor_only(caller)
        return await audit.verify()

    @router.get("/complaints/{register_number:path}", summary="Rincian / Detail by register no.")
    async def get_complaint(
        register_number: str,
        caller: Caller,
        purpose: Annotated[str, Query(min_length=1, max_length=200)] = DEFAULT_PURPOSE,
    ) -> Any:
        found = await queries.detail(register_number, _scope(caller))
        shown = [f for f in IDENTITY_FIELDS if found.get(f)]
        if shown:  # stored before the answer leaves: no audit entry, no identity
            await audit.identity_read(
                caller,
                found["complaint_id"],
                found["office_code"],
                shown,
                purpose,
                current_correlation_id(),
            )
        return found

    @router.post(
        "/complaints/{register_number:path}/status",
        response_model=StatusChanged,
        summary="Ubah status tindak lanjut / Change follow-up status (UKI)",
    )
    async def change_status(register_number: str, body: StatusChange, caller: Caller) -> Any:
        if not (caller.has(Role.COMPLIANCE) or caller.has(Role.SUPERVISOR)):
            raise forbidden(
                "Hanya staf UKI yang dapat mengubah status.",
                "Only compliance-unit staff can change the status.",
            )
        step = await registry.change_status(
            register_number, body.status, body.note, caller.officer_id, _scope(caller)
        )
        return StatusChanged(
            register_number=register_number,
            from_status=step["from"],
            to_status=step["to"],
            at=step["at"],
        )

    @router.get(
        "/reports/service-standard",
        summary="Standar layanan 30 menit / 30-min standard",
        responses={
            200: {
                "description": "JSON, or CSV with `format=csv`",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        },
    )
    async def service_standard(
        caller: Caller,
        # Bounded: the UTC search window is the local dates widened by days, which overflowed
        # (a 500) for dates such as 0001-01-01 or 9999-12-31.
        first: Annotated[date, Query(alias="from", ge=REPORT_FIRST, le=REPORT_LAST)],
        last: Annotated[date, Query(alias="to", ge=REPORT_FIRST, le=REPORT_LAST)],
        office: str | None = None,
        format: Literal["json", "csv"] = "json",
        level: Literal["office", "complaint"] = "office",
    ) -> Any:
        found = await queries.service_standard(first, last, _scope(caller, office))
        if format == "csv":
            return Response(sla.to_csv(found, level), media_type="text/csv; charset=utf-8")
        return JSONResponse(_jsonable(found))

    def _statistics_scope(caller: Principal, office: str | None) -> OfficeScope:
        if not (caller.has(Role.COMPLIANCE) or caller.has(Role.SUPERVISOR)):
            raise forbidden(*STATISTICS_ROLES)
        return _scope(caller, office)

    @router.get(
        "/overdue",
        response_model=OverdueList,
        summary="Melewati tenggat, terlama dulu / Overdue, longest first",
    )
    async def overdue(
        caller: Caller,
        office: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> OverdueList:
        """Open complaints past their working-day deadline (office scope as the list)."""
        now = datetime.now(UTC)
        found = await queries.overdue(_scope(caller, office), now, limit)
        return OverdueList(total=found.total, items=[_summary(d, now) for d in found.items])

    @router.get(
        "/statistics",
        summary="Statistik kantor / Office statistics",
        responses={
            200: {
                "description": "JSON; CSV with `format=csv`; XLSX with `format=xlsx`",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    XLSX: {"schema": {"type": "string", "format": "binary"}},
                },
            }
        },
    )
    async def office_statistics(
        caller: Caller,
        first: Annotated[date, Query(alias="from", ge=REPORT_FIRST, le=REPORT_LAST)],
        last: Annotated[date, Query(alias="to", ge=REPORT_FIRST, le=REPORT_LAST)],
        office: str | None = None,
        format: Literal["json", "csv", "xlsx"] = "json",
    ) -> Any:
        """Per office over the local dates from..to: counts by channel and status, minutes to
        the register number (median, p90), the 30-minute standard, notifications sent/failed,
        overdue follow-up stages (compliance: own office; supervisor: any or all)."""
        scope = _statistics_scope(caller, office)
        found = await queries.statistics(first, last, scope, datetime.now(UTC))
        name = f"statistik-{office or 'kantor'}-{first}-{last}"
        if format == "csv":
            return Response(
                statistics.to_csv(found),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
            )
        if format == "xlsx":
            return Response(
                statistics.to_xlsx(found),
                media_type=XLSX,
                headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
            )
        return JSONResponse(_jsonable(found))

    @router.get(
        "/statistics/complaints",
        summary="Ekspor per pengaduan (CSV, streaming) / Per-complaint export",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    )
    async def complaint_export(
        caller: Caller,
        first: Annotated[date, Query(alias="from", ge=REPORT_FIRST, le=REPORT_LAST)],
        last: Annotated[date, Query(alias="to", ge=REPORT_FIRST, le=REPORT_LAST)],
        office: str | None = None,
    ) -> StreamingResponse:
        """Every complaint of the range, a CSV line at a time as read from the store (no
        personal data): a year of every office streams in constant memory."""
        scope = _statistics_scope(caller, office)
        rows = queries.complaint_rows(first, last, scope, datetime.now(UTC))

        async def lines() -> AsyncIterator[bytes]:
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            async for row in rows:
                writer.writerow(row)
                if out.tell() > 64 * 1024:  # send in chunks of about 64 KiB
                    yield out.getvalue().encode()
                    out.seek(0)
                    out.truncate()
            yield out.getvalue().encode()

        name = f"pengaduan-{office or 'kantor'}-{first}-{last}.csv"
        return StreamingResponse(
            lines(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return router


def _summary(d: dict[str, Any], now: datetime) -> ComplaintSummary:
    deadline = d["view"].get("deadline") or {}
    due = deadline.get("due_at")
    return ComplaintSummary(
        complaint_id=d["_id"],
        office_code=d["office_code"],
        register_number=d["view"].get("register_number"),
        channel=d["channel"],
        received_at=d["received_at"],
        status=d["view"]["status"],
        ticket_issued=d["view"].get("ticket_issued", False),
        notification_failed=d["view"].get("notification_failed", False),
        stage=deadline.get("stage"),
        due_at=due,
        overdue=due is not None and due <= now,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.isoformat() if isinstance(value, datetime) else value
