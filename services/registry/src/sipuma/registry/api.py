"""Staff HTTP API (OpenAPI): list and read the office's complaints, move the follow-up status,
the service-standard report. Bearer token as for intake; office scope, supervisors see all."""

# No `from __future__ import annotations`: FastAPI must see the route-local `Caller` alias.

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from sipuma.registry import sla
from sipuma.registry.domain import Status, TransitionRefused
from sipuma.registry.service import Conflict, NotFound, Registry
from sipuma.registry.tracking import _problem
from sipuma.registry.views import detail
from sipuma.shared.auth import Principal, Role, TokenVerifier, bearer_principal, forbidden
from sipuma.shared.payloads import Channel

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


def staff_router(registry: Registry, verifier: TokenVerifier) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["staf / staff"])
    Caller = Annotated[Principal, Depends(bearer_principal(verifier))]

    @router.get("/complaints", response_model=ComplaintPage, summary="Daftar pengaduan / List")
    async def list_complaints(
        caller: Caller,
        office: str | None = None,
        received_from: Annotated[datetime | None, Query(alias="from")] = None,
        received_to: Annotated[datetime | None, Query(alias="to")] = None,
        status: str | None = None,
        channel: Channel | None = None,
        notification_failed: bool | None = None,
        # Bounded: (page - 1) * page_size must fit MongoDB's 8-byte skip (a huge page was a 500).
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> ComplaintPage:
        query: dict[str, Any] = {"register_year": {"$exists": True}}
        offices = _scope(caller, office)
        if offices is not None:
            query["office_code"] = {"$in": offices}
        window = {k: v for k, v in (("$gte", received_from), ("$lt", received_to)) if v}
        if window:
            query["received_at"] = window
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

    @router.get("/complaints/{register_number:path}", summary="Rincian / Detail by register no.")
    async def get_complaint(register_number: str, caller: Caller) -> Any:
        found = await registry.store.numbers.find_one({"number": register_number})
        if found is None or not caller.may_act_for(found["office_code"]):
            return _not_found(register_number)  # another office's number is not even confirmed
        cid = found["complaint_id"]
        complaint = await registry.store.complaint(cid)
        if complaint is None:
            return _not_found(register_number)
        store = registry.store
        return detail(
            complaint,
            found,
            await store.changes_of(cid),
            await store.facts_of(cid),
            await store.tickets_of(cid),
        )

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
        found = await registry.store.numbers.find_one({"number": register_number})
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
