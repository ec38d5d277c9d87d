"""Staff HTTP API (OpenAPI): list and read the office's complaints, move the follow-up status,
the service-standard report. Bearer token as for intake; office scope, supervisors see all."""

# No `from __future__ import annotations`: FastAPI must see the route-local `Caller` alias.

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from sipuma.registry import sla
from sipuma.registry.domain import Status, TransitionRefused
from sipuma.registry.service import UNKNOWN_OFFICE, Conflict, NotFound, Registry
from sipuma.registry.tracking import _problem
from sipuma.registry.views import detail
from sipuma.shared.auth import Principal, Role, TokenVerifier, bearer_principal, forbidden
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


class ComplaintPage(BaseModel):
    total: int
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


def _scope(principal: Principal, office: str | None) -> list[str] | None:
    """The offices this caller may read: None = every office (supervisor, no filter)."""
    if office is not None:
        if not principal.may_act_for(office):
            raise forbidden(*OTHER_OFFICE)
        return [office]
    return None if principal.has(Role.SUPERVISOR) else [principal.office_code]


REPORT_FIRST, REPORT_LAST = date(2000, 1, 1), date(2999, 12, 31)
LIST_DEFAULT_DAYS, LIST_MAX_DAYS = 31, 366


def _window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """(end, start) of a list request: a missing `to` is now, a missing `from` 31 days before
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
    return end, start


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


RANGE_TOO_LONG = (
    f"Rentang from..to paling lama {LIST_MAX_DAYS} hari.",
    f"The range from..to may span at most {LIST_MAX_DAYS} days.",
)
ATTENTION_REASONS = {
    UNKNOWN_OFFICE: (
        "Kode kantor tidak terdaftar di konfigurasi registri; pengaduan diberi nomor register "
        "setelah kantor ditambahkan dan registri dimulai ulang.",
        "The office code is not configured in the registry; the complaint is numbered once the "
        "office is added and the registry restarted.",
    )
}


def staff_router(registry: Registry, verifier: TokenVerifier) -> APIRouter:
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
        end, start = _window(received_from, received_to)
        # A bounded time range on the indexed received_at: the cost of a page follows the
        # complaints in the range, not the whole database (the store sorts what matched).
        query: dict[str, Any] = {"received_at": {"$gte": start, "$lt": end}}
        offices = _scope(caller, office)
        if offices is not None:
            query["office_code"] = offices[0] if len(offices) == 1 else {"$in": offices}
        if status:
            query["view.status"] = status
        if channel:
            query["channel"] = channel.value
        if notification_failed is not None:
            query["view.notification_failed"] = notification_failed
        total, docs = await registry.store.page(query, (page - 1) * page_size, page_size)
        items = [
            ComplaintSummary(
                complaint_id=d["_id"],
                office_code=d["office_code"],
                register_number=d["view"].get("register_number"),
                channel=d["channel"],
                received_at=d["received_at"],
                status=d["view"]["status"],
                ticket_issued=d["view"].get("ticket_issued", False),
                notification_failed=d["view"].get("notification_failed", False),
            )
            for d in docs
        ]
        return ComplaintPage(total=total, page=page, page_size=page_size, items=items)

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
        total, docs = await registry.store.needing_attention(limit)
        items = []
        for doc in docs:
            reason = doc["attention"]["reason"]
            id_text, en_text = ATTENTION_REASONS.get(reason, (reason, reason))
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
        return AttentionList(total=total, items=items)

    @router.get("/complaints/{register_number:path}", summary="Rincian / Detail by register no.")
    async def get_complaint(register_number: str, caller: Caller) -> Any:
        found = await registry.store.number_named(register_number)
        if found is None or not caller.may_act_for(found["office_code"]):
            return _not_found(register_number)  # another office's number is not even confirmed
        cid = found["complaint_id"]
        complaint = await registry.store.complaint(cid)
        if complaint is None:
            return _not_found(register_number)
        store = registry.store
        changes, facts, issued = await asyncio.gather(
            store.changes_of(cid), store.facts_of(cid), store.tickets_of(cid)
        )
        return detail(complaint, found, changes, facts, issued)

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
        found = await registry.store.number_named(register_number)
        if found is None or not caller.may_act_for(found["office_code"]):
            return _not_found(register_number)
        try:
            doc = await registry.change_status(
                register_number, body.status, body.note, caller.officer_id
            )
        except NotFound:
            return _not_found(register_number)
        except TransitionRefused as refused:
            id_text, en_text = refused.messages
            return _problem(409, "transition_refused", id_text, en_text)
        except Conflict:
            return _problem(
                409,
                "concurrent_change",
                "Status baru saja diubah oleh petugas lain. Muat ulang lalu coba lagi.",
                "The status was just changed by someone else. Reload and try again.",
            )
        return StatusChanged(
            register_number=register_number,
            from_status=doc["from"],
            to_status=doc["to"],
            at=doc["at"],
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
        found = await sla.report(
            registry.store, registry.offices, first, last, _scope(caller, office)
        )
        if format == "csv":
            return Response(sla.to_csv(found, level), media_type="text/csv; charset=utf-8")
        return JSONResponse(_jsonable(found))

    return router


def _not_found(number: str) -> JSONResponse:
    return _problem(
        404,
        "complaint_not_found",
        f"Pengaduan dengan nomor register {number} tidak ditemukan.",
        f"No complaint with register number {number}.",
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.isoformat() if isinstance(value, datetime) else value
