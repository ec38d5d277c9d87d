"""Staff HTTP API (OpenAPI): list, search and export the office's complaints (CSV/XLSX), read one
by register number, move the follow-up status (forwarding with destination and reference),
reopen/undo (supervisors), correct the complainant's details, set or change the complaint's
category (kategori pengaduan, UKI), the needs-attention list, the service-standard report.
Bearer token as for intake; office scope, supervisors see all. Each route parses, checks the
caller's role, calls one use case. Two routers: `reports_router` (reads of the store only: list,
search, downloads, statistics, reports) and `staff_router` (the rest), README "Roles". Domain
errors become problem+json in `problems.py`; the list's and search's parameters are read in
`search.py`."""

# No `from __future__ import annotations`: FastAPI must see the route-local `Caller` alias.

import json
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sipuma.registry import exports, sla, statistics
from sipuma.registry.audit import AuditTrail
from sipuma.registry.categories import UNCATEGORISED, Categories
from sipuma.registry.disclosure import PERSONAL_FIELDS, disclose
from sipuma.registry.domain import (
    DEFAULT_DESTINATIONS,
    ComplaintFilter,
    Destination,
    Doc,
    OfficeScope,
    Status,
    attention_messages,
)
from sipuma.registry.queries import Queries
from sipuma.registry.search import (
    IN_THE_BODY,
    PERSONAL_FILTERS,
    ReportRange,
    Search,
    Sort,
    invalid,
    list_filter,
    moment,
    report_range,
)
from sipuma.registry.service import Registry
from sipuma.shared.auth import Principal, Role, TokenVerifier, bearer_principal, forbidden
from sipuma.shared.correlation import current_correlation_id
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.payloads import E164, Channel, Email
from sipuma.shared.problems import Messages

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
    complainant: str | None = Field(
        None, description='Pengadu, disamarkan / complainant, masked (e.g. "B*** S***")'
    )

    communicated: str | None = Field(None, description="told / unreachable / null: belum")
    intake_done_at: datetime | None = None
    category: str | None = Field(
        None, description="Kategori pengaduan (kode) / complaint category code; null: belum"
    )


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
    # Stripped first: a note of spaces only says nothing and is refused like an empty one.
    note: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
    ] = Field(description="Catatan / note")
    destination: str | None = Field(
        None, max_length=64, description="Wajib bila diteruskan: kode tujuan / forwarded: where"
    )
    reference: Annotated[
        str | None, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
    ] = Field(None, description="Wajib bila diteruskan: nomor surat / forwarded: reference no.")


class Correction(BaseModel):
    """Buka kembali / batalkan langkah terakhir: alasan wajib / reopen or undo: a reason."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
    ] = Field(description="Alasan / reason")


class ComplainantCorrection(BaseModel):
    """Koreksi data pengadu (terstruktur) / a structured correction of the complainant's
    details: at least one of phone, address, e-mail, and a reason."""

    model_config = ConfigDict(extra="forbid")

    phone: E164 | None = Field(None, description="Nomor telepon, format +62… / E.164")
    address: Annotated[
        str | None, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
    ] = None
    email: Email | None = None
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
    ] = Field(description="Alasan koreksi / reason")


class CategoryChange(BaseModel):
    """Tetapkan atau ubah kategori pengaduan / set or change the complaint's category. A reason
    is required to change a category already set."""

    model_config = ConfigDict(extra="forbid")

    category: str = Field(max_length=64, description="Kode kategori / category code")
    reason: Annotated[
        str | None, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
    ] = Field(None, description="Alasan (wajib bila mengubah) / reason (required to change)")


class Label(BaseModel):
    id: str
    en: str


class CategoryOut(BaseModel):
    code: str
    label: Label


class Categorised(BaseModel):
    register_number: str
    category: str
    label: Label
    previous: str | None
    changed: bool = Field(description="false: kategori ini sudah ditetapkan / already this one")
    at: datetime


class DestinationOut(BaseModel):
    code: str
    name: str


class StatusChanged(BaseModel):
    register_number: str
    from_status: str
    to_status: str
    at: datetime


def _scope(
    principal: Principal, offices: OfficeDirectory, office: str | None = None
) -> OfficeScope:
    """The offices this caller reads: the one asked for (if theirs, and configured), else every
    office for a supervisor and their own for anyone else."""
    if office is not None:
        if not principal.may_act_for(office):
            raise forbidden(*OTHER_OFFICE)
        if offices.get(office) is None:  # not an invented zero row
            raise invalid(
                "query.office",
                "office_unknown",
                f"Kode kantor {office} tidak terdaftar.",
                f"Office code {office} is not configured.",
            )
        return OfficeScope(frozenset({office}))
    if principal.has(Role.SUPERVISOR):
        return OfficeScope(None)
    return OfficeScope(frozenset({principal.office_code}))


STATISTICS_ROLES = (
    "Statistik hanya untuk petugas kepatuhan (UKI) dan supervisor.",
    "Statistics are for compliance staff and supervisors only.",
)
EXPORT_CONTENT: dict[str, Any] = {
    "text/csv": {"schema": {"type": "string"}},
    exports.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
}


LIST_FIELDS = (
    "register_number",
    "office_code",
    "channel",
    "received_at",
    "status",
    "communicated",
    "intake_done_at",
    "ticket_issued",
    "notification_failed",
    "stage",
    "due_at",
    "overdue",
    "complaint_id",
    "category",
)


def _forwarding(body: StatusChange, destinations: list[Destination]) -> Doc:
    """A forwarding names a configured destination and a reference number; nothing else does."""
    if body.status is not Status.FORWARDED:
        for name in ("destination", "reference"):
            if getattr(body, name) is not None:
                raise invalid(
                    name,
                    "only_when_forwarded",
                    "Hanya diisi bila status diteruskan.",
                    "Only given when the status is forwarded.",
                )
        return {}
    known = {d.code: d for d in destinations}
    if body.destination not in known:
        codes = ", ".join(known)
        raise invalid(
            "destination",
            "destination_unknown",
            f"Pilih tujuan penerusan dari daftar: {codes}.",
            f"Choose the forwarding destination from the list: {codes}.",
        )
    if body.reference is None:
        raise invalid(
            "reference",
            "reference_required",
            "Nomor surat/referensi penerusan wajib diisi.",
            "The forwarding's reference number is required.",
        )
    chosen = known[body.destination]
    return {"destination": {"code": chosen.code, "name": chosen.name}, "reference": body.reference}


def _category_code(categories: Categories, code: str, name: str, *, listing: bool) -> str:
    """A code of the vocabulary (and, to filter the list, "uncategorised"), else a 422 that
    names the field and the allowed codes."""
    allowed = [*categories.codes(), *([UNCATEGORISED] if listing else [])]
    if code not in allowed:
        codes = ", ".join(allowed)
        raise invalid(
            name,
            "category_unknown",
            f"Kategori tidak dikenal. Pilih salah satu: {codes}.",
            f"Unknown category. Choose one of: {codes}.",
        )
    return code


# What the detail shows of the complainant (audited, issue 16).
IDENTITY_FIELDS = (
    "complainant",
    "complainant_current",
    "complainant_corrections",
    "elements",
    "tracking_contact",
    "contacts",
    "supplements",
)
DEFAULT_PURPOSE = "tindak lanjut pengaduan"


SEE_AUDIT = (
    "Hanya supervisor yang dapat melihat audit akses identitas.",
    "Only supervisors can see the identity-access audit.",
)
ERASE_IDENTITY = (
    "Hanya supervisor yang dapat menghapus identitas pengadu.",
    "Only supervisors can erase a complainant's identity.",
)


def _supervisor_only(caller: Principal, refusal: tuple[str, str] = SEE_AUDIT) -> None:
    if not caller.has(Role.SUPERVISOR):
        raise forbidden(*refusal)


def reports_router(queries: Queries, verifier: TokenVerifier) -> APIRouter:
    """The read side: the list and search with their downloads, the overdue list, the
    service-standard report, the statistics and the per-complaint export. Reads of the store only
    (no Kafka, no working-day calendar, no audit entry), so the `reports` role serves these alone
    in a small process (README "Roles"); the `all` role serves them next to `staff_router`."""
    offices = queries.offices
    categories = queries.categories
    router = APIRouter(prefix="/v1", tags=["staf / staff"])
    Caller = Annotated[Principal, Depends(bearer_principal(verifier))]
    Dates = Annotated[ReportRange, Depends(report_range)]

    @router.get(
        "/complaints",
        response_model=ComplaintPage,
        summary="Daftar dan pencarian pengaduan / List and search complaints",
        description="Dalam rentang waktu `from`..`to` (bawaan: 31 hari terakhir, paling lama "
        "366 hari; tanggal = tanggal lokal kantor). / Within `from`..`to` (default: the last 31 "
        "days; at most 366 days; a date is the office's local date). `format=csv|xlsx`: the "
        "whole filtered range as a download.",
        responses={200: _downloads("JSON, CSV or XLSX")},
    )
    async def list_complaints(
        caller: Caller,
        request: Request,
        office: str | None = None,
        received_from: Annotated[
            str | None, Query(alias="from", description="YYYY-MM-DD (lokal) / ISO 8601")
        ] = None,
        received_to: Annotated[
            str | None, Query(alias="to", description="YYYY-MM-DD (lokal) / ISO 8601")
        ] = None,
        status: Status | None = None,
        channel: Channel | None = None,
        notification_failed: bool | None = None,
        page: Annotated[int, Query(ge=1, le=10_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=200)] = 50,
        format: Literal["json", "csv", "xlsx"] = "json",
        number: Annotated[
            str | None, Query(max_length=64, description="Bagian nomor register / part of it")
        ] = None,
        not_told: Annotated[
            bool | None, Query(description="true: nomor register belum disampaikan")
        ] = None,
        overdue: Annotated[
            bool | None, Query(description="true: lewat 30 menit dan penerimaan belum selesai")
        ] = None,
        category: Annotated[
            str | None,
            Query(max_length=64, description="Kode kategori, atau uncategorised / category code"),
        ] = None,
        sort: Annotated[
            Sort,
            Query(
                description="urutan / order; `-` dulu: menurun / descending. due: semua yang "
                "masih bertenggat, melewati tenggat dulu lalu tenggat terdekat (`from`/`to` "
                "tidak dipakai) / every complaint with an open deadline, overdue first, then by "
                "due date (`from`/`to` are not used)"
            ),
        ] = "-received_at",
    ) -> Any:
        for personal in PERSONAL_FILTERS:
            if personal in request.query_params:
                raise invalid(f"query.{personal}", "personal_data_in_url", *IN_THE_BODY)
        # Checked by FastAPI as query parameters already: built, not validated again.
        wanted = Search.model_construct(
            office=office,
            received_from=received_from,
            received_to=received_to,
            status=status,
            channel=channel,
            notification_failed=notification_failed,
            page=page,
            page_size=page_size,
            format=format,
            number=number,
            not_told=not_told,
            overdue=overdue,
            category=category,
            sort=sort,
        )
        return await _run(caller, wanted, "query.")

    @router.post(
        "/complaints/search",
        response_model=ComplaintPage,
        summary="Cari pengaduan (data pribadi di badan permintaan) / Search (personal data in "
        "the body)",
        description="Seperti daftar, ditambah tiket, nama pengadu, dan pegawai yang diadukan: "
        "di badan permintaan, bukan di alamat (alamat tercatat di proksi). / Like the list, plus "
        "ticket, complainant name and reported employee: in the body, never in the URL (URLs "
        "end up in proxy logs).",
        responses={200: _downloads("JSON, CSV or XLSX")},
    )
    async def search_complaints(caller: Caller, body: Search) -> Any:
        return await _run(caller, body, "")

    async def _run(caller: Principal, wanted: Search, where: str) -> Any:
        owner = None
        if wanted.ticket:  # an unknown ticket matches nothing (no oracle either way)
            owner = await queries.ticket_complaint(wanted.ticket) or "-"
        overdue = wanted.overdue
        found_filter = list_filter(
            offices,
            _scope(caller, offices, wanted.office),
            moment(f"{where}from", wanted.received_from),
            moment(f"{where}to", wanted.received_to),
            where=where,
            status=wanted.status.value if wanted.status else None,
            channel=wanted.channel,
            notification_failed=wanted.notification_failed,
            number=wanted.number or None,
            complaint_id=owner,
            complainant_name=queries.name_keys(wanted.name) if wanted.name else None,
            employee=queries.name_keys(wanted.employee) if wanted.employee else None,
            not_told=wanted.not_told,
            overdue_before=(
                datetime.now(UTC) - timedelta(minutes=sla.STANDARD_MINUTES) if overdue else None
            ),
            sort=wanted.sort,
            category=(
                _category_code(categories, wanted.category, f"{where}category", listing=True)
                if wanted.category
                else None
            ),
        )
        if wanted.format != "json":  # the whole range, streamed from one cursor
            name = exports.filename(
                "pengaduan",
                wanted.office or "",
                wanted.received_from or "",
                wanted.received_to or "",
                extension=wanted.format,
            )
            rows = _listed_rows(queries, found_filter)
            return _export(wanted.format, "Pengaduan", LIST_FIELDS, rows, name)
        found = await queries.page(found_filter, wanted.page, wanted.page_size)
        now = datetime.now(UTC)
        items = [ComplaintSummary.model_validate(_summary(d, now)) for d in found.items]
        return ComplaintPage(
            total=found.total,
            total_exact=found.total_exact,
            page=wanted.page,
            page_size=wanted.page_size,
            items=items,
        )

    @router.get(
        "/reports/service-standard",
        summary="Standar layanan 30 menit / 30-min standard",
        responses={200: _downloads("JSON; CSV with `format=csv`; XLSX with `format=xlsx`")},
    )
    async def service_standard(
        caller: Caller,
        dates: Dates,
        office: str | None = None,
        format: Literal["json", "csv", "xlsx"] = "json",
        level: Literal["office", "complaint"] = "office",
    ) -> Any:
        first, last = dates.first, dates.last
        found = await queries.service_standard(first, last, _scope(caller, offices, office))
        if format != "json":
            fields = sla.OFFICE_FIELDS if level == "office" else sla.COMPLAINT_FIELDS
            rows = found["offices"] if level == "office" else found["complaints"]
            name = exports.filename(
                "standar-layanan",
                level,
                office or "",
                first.isoformat(),
                last.isoformat(),
                extension=format,
            )
            return _export(format, "Standar layanan", fields, _once(rows), name)
        return DatedJSONResponse(found)

    def _statistics_scope(caller: Principal, office: str | None) -> OfficeScope:
        if not (caller.has(Role.COMPLIANCE) or caller.has(Role.SUPERVISOR)):
            raise forbidden(*STATISTICS_ROLES)
        return _scope(caller, offices, office)

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
        found = await queries.overdue(_scope(caller, offices, office), now, limit)
        items = [ComplaintSummary.model_validate(_summary(d, now)) for d in found.items]
        return OverdueList(total=found.total, items=items)

    @router.get(
        "/statistics",
        summary="Statistik kantor / Office statistics",
        responses={200: _downloads("JSON; CSV with `format=csv`; XLSX with `format=xlsx`")},
    )
    async def office_statistics(
        caller: Caller,
        dates: Dates,
        office: str | None = None,
        format: Literal["json", "csv", "xlsx"] = "json",
    ) -> Any:
        """Per office over the local dates from..to: counts by channel and status, minutes to
        the register number (median, p90), the 30-minute standard, notifications sent/failed,
        overdue follow-up stages (compliance: own office; supervisor: any or all)."""
        first, last = dates.first, dates.last
        scope = _statistics_scope(caller, office)
        found = await queries.statistics(first, last, scope, datetime.now(UTC))
        if format == "json":
            return DatedJSONResponse(found)
        header, *rows = statistics.flat_rows(found)
        cells = [[exports.cell(v, UTC) for v in row] for row in rows]
        name = f"statistik-{office or 'kantor'}-{first}-{last}.{format}"
        return _download(format, "Statistik", header, _once(cells), name)

    @router.get(
        "/statistics/complaints",
        summary="Ekspor per pengaduan (CSV/XLSX, streaming) / Per-complaint export",
        response_class=StreamingResponse,
        responses={200: _downloads("CSV; XLSX with `format=xlsx` (same columns, local times)")},
    )
    async def complaint_export(
        caller: Caller,
        dates: Dates,
        office: str | None = None,
        format: Literal["csv", "xlsx"] = "csv",
    ) -> StreamingResponse:
        """Every complaint of the range as read from the store (no personal data), in constant
        memory: CSV a chunk at a time; XLSX (openpyxl write-only) through a temporary file."""
        first, last = dates.first, dates.last
        scope = _statistics_scope(caller, office)
        rows = queries.complaint_rows(first, last, scope, datetime.now(UTC))
        header = await anext(rows)  # the header comes first, before any store read
        # Same cell rules as every registry export (issue 20): Ya/Tidak, nothing as empty; the
        # CSV gets BOM and CRLF, the XLSX its office-local times as Excel date-times.
        times = [i for i, field in enumerate(header) if field.endswith("_local")]

        async def cells() -> AsyncIterator[list[list[Any]]]:
            async for batch in exports.batched(rows):
                found = [[exports.cell(v, UTC) for v in row] for row in batch]
                if format == "xlsx":
                    found = [exports.local_datetimes(row, times) for row in found]
                yield found

        name = f"pengaduan-{office or 'kantor'}-{first}-{last}.{format}"
        return _download(format, "Pengaduan", header, cells(), name)

    def _export(
        kind: str, sheet: str, fields: tuple[str, ...], batches: AsyncIterator[list[Doc]], name: str
    ) -> StreamingResponse:
        return _download(kind, sheet, fields, _cells(fields, batches), name)

    async def _cells(
        fields: tuple[str, ...], batches: AsyncIterator[list[Doc]]
    ) -> AsyncIterator[list[list[Any]]]:
        async for batch in batches:
            yield exports.cells(offices, fields, batch)

    return router


def staff_router(
    registry: Registry,
    queries: Queries,
    verifier: TokenVerifier,
    audit: AuditTrail,
    destinations: list[Destination] | None = None,
) -> APIRouter:
    """The rest of the staff API: the detail (audited identity), status steps, corrections,
    categories, erasure, the audit, the needs-attention list; changes go through the outbox and
    deadlines need the working-day calendar, so only the `all` role serves these."""
    offices = queries.offices
    categories = queries.categories
    destinations = list(destinations or DEFAULT_DESTINATIONS)
    router = APIRouter(prefix="/v1", tags=["staf / staff"])
    Caller = Annotated[Principal, Depends(bearer_principal(verifier))]

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
        _supervisor_only(caller, ERASE_IDENTITY)
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
            complaint_id = await queries.complaint_id_of(register_number, _scope(caller, offices))
        found = await audit.entries(complaint_id, officer_id, limit)
        return {"items": [{k: v for k, v in d.items() if k != "_id"} for d in found]}

    @router.get(
        "/audit/identity-reads/verify",
        summary="Periksa rantai audit / Check the audit chain (supervisor)",
    )
    async def verify_identity_reads(caller: Caller) -> Any:
        _supervisor_only(caller)
        return await audit.verify()

    @router.get(
        "/complaints/{register_number:path}/identifier",
        summary="Id pengaduan dari nomor register / Complaint id by register number",
        description="Id dan kantor di balik nomor register, tanpa identitas pengadu (maka tanpa "
        "entri audit); untuk layanan lain yang bertindak atas nomor. / The id and office behind a "
        "register number, no identity (so no audit entry): for services acting by number.",
    )
    async def identify(register_number: str, caller: Caller) -> Any:
        return await queries.identify(register_number, _scope(caller, offices))

    @router.get(
        "/complaints/{register_number:path}/possible-duplicates",
        summary="Kemungkinan pengaduan ganda / Possible-duplicate hint",
        description="Pengaduan lain oleh pengadu yang sama (indeks buta NIK/telepon) dalam "
        "jendela waktu; tanpa identitas. / Other filings by the same complainant (blind NIK/phone "
        "index) within the window; no identity, so no audit entry.",
    )
    async def possible_duplicates(register_number: str, caller: Caller) -> Any:
        hints = await queries.duplicates_of(register_number, _scope(caller, offices))
        return {"register_number": register_number, "possible_duplicates": hints}

    @router.get("/complaints/{register_number:path}", summary="Rincian / Detail by register no.")
    async def get_complaint(
        register_number: str,
        caller: Caller,
        purpose: Annotated[str, Query(min_length=1, max_length=200)] = DEFAULT_PURPOSE,
    ) -> Any:
        found = disclose(await queries.detail(register_number, _scope(caller, offices)), caller)
        # Masked values are not the identity: only fields shown in clear are audited.
        masked_now = PERSONAL_FIELDS if found["identity_masked"] else ()
        shown = [f for f in IDENTITY_FIELDS if found.get(f) and f not in masked_now]
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
        extra = _forwarding(body, destinations)
        step = await registry.change_status(
            register_number,
            body.status,
            body.note,
            caller.officer_id,
            _scope(caller, offices),
            extra,
        )
        return StatusChanged(
            register_number=step["register_number"],
            from_status=step["from"],
            to_status=step["to"],
            at=step["at"],
        )

    @router.post(
        "/complaints/{register_number:path}/reopen",
        response_model=StatusChanged,
        summary="Buka kembali pengaduan yang selesai / Reopen a closed complaint (supervisor)",
    )
    async def reopen(register_number: str, body: Correction, caller: Caller) -> Any:
        _supervisor(caller)
        step = await registry.reopen(
            register_number, body.reason, caller.officer_id, _scope(caller, offices)
        )
        return _changed(step)

    @router.post(
        "/complaints/{register_number:path}/undo",
        response_model=StatusChanged,
        summary="Batalkan perubahan status terakhir / Undo the last status change (supervisor)",
    )
    async def undo(register_number: str, body: Correction, caller: Caller) -> Any:
        _supervisor(caller)
        step = await registry.undo(
            register_number, body.reason, caller.officer_id, _scope(caller, offices)
        )
        return _changed(step)

    @router.post(
        "/complaints/{register_number:path}/complainant-corrections",
        status_code=201,
        summary="Koreksi data pengadu / Correct the complainant's phone, address, e-mail",
    )
    async def correct_complainant(
        register_number: str, body: ComplainantCorrection, caller: Caller
    ) -> Any:
        changes = body.model_dump(include={"phone", "address", "email"}, exclude_none=True)
        if not changes:
            raise invalid(
                "phone",
                "correction_empty",
                "Isi paling sedikit satu dari: telepon, alamat, e-mail.",
                "Give at least one of: phone, address, e-mail.",
            )
        scope = _scope(caller, offices)
        await registry.correct_complainant(
            register_number, changes, body.reason, caller.officer_id, scope
        )
        found = await queries.detail(register_number, scope)
        return {
            "register_number": found["register_number"],
            "complainant_current": found["complainant_current"],
            "complainant_corrections": found["complainant_corrections"],
        }

    @router.post(
        "/complaints/{register_number:path}/category",
        response_model=Categorised,
        summary="Tetapkan/ubah kategori pengaduan / Set or change the category (UKI)",
        description="Kode dari daftar `GET /v1/complaint-categories`; mengubah kategori yang "
        "sudah ada memerlukan alasan, nilai sebelumnya tetap di riwayat. / A code of the list; "
        "changing one already set needs a reason, the previous value stays in the history.",
    )
    async def categorise(register_number: str, body: CategoryChange, caller: Caller) -> Any:
        if not (caller.has(Role.COMPLIANCE) or caller.has(Role.SUPERVISOR)):
            raise forbidden(
                "Hanya staf UKI atau supervisor yang dapat menetapkan kategori.",
                "Only compliance-unit staff or a supervisor can set the category.",
            )
        code = _category_code(categories, body.category, "category", listing=False)
        step, changed = await registry.categorise(
            register_number, code, body.reason, caller.officer_id, _scope(caller, offices)
        )
        return Categorised(
            register_number=step["register_number"],
            category=step["category"],
            label=Label(**categories.label(step["category"])),
            previous=step.get("previous"),
            changed=changed,
            at=step["at"],
        )

    @router.get(
        "/complaint-categories",
        response_model=list[CategoryOut],
        summary="Kategori pengaduan / Complaint categories (the reviewed list)",
    )
    async def complaint_categories(caller: Caller) -> Any:
        return [c.out() for c in categories.choosable]

    @router.get(
        "/forward-destinations",
        response_model=list[DestinationOut],
        summary="Tujuan penerusan / Forwarding destinations (configured)",
    )
    async def forward_destinations(caller: Caller) -> Any:
        return [DestinationOut(code=d.code, name=d.name) for d in destinations]

    return router


EXPORT_PAGE = 500


def _supervisor(caller: Principal) -> None:
    if not caller.has(Role.SUPERVISOR):
        raise forbidden(
            "Hanya supervisor yang dapat membuka kembali atau membatalkan perubahan status.",
            "Only supervisors can reopen a complaint or undo a status change.",
        )


def _changed(step: Doc) -> StatusChanged:
    return StatusChanged(
        register_number=step["register_number"],
        from_status=step["from"],
        to_status=step["to"],
        at=step["at"],
    )


async def _listed_rows(queries: Queries, wanted: ComplaintFilter) -> AsyncIterator[list[Doc]]:
    """The whole filtered range from one cursor, a batch at a time (memory follows a batch)."""
    async for batch in queries.stream(wanted, EXPORT_PAGE):
        now = datetime.now(UTC)
        yield [_summary(d, now) for d in batch]


async def _once(rows: list[Any]) -> AsyncIterator[list[Any]]:
    yield rows


def _downloads(description: str) -> dict[str, Any]:
    """The OpenAPI answer of a route that also downloads (CSV, XLSX)."""
    return {"description": description, "content": EXPORT_CONTENT}


def _download(
    kind: str, sheet: str, header: Sequence[str], rows: AsyncIterable[list[list[Any]]], name: str
) -> StreamingResponse:
    """Every CSV or XLSX the registry sends leaves here: streamed, as an attachment."""
    if kind == "xlsx":
        body, media = exports.xlsx_stream(sheet, header, rows), exports.XLSX_TYPE
    else:
        body, media = exports.csv_stream(header, rows), exports.CSV_TYPE
    return StreamingResponse(body, media_type=media, headers=exports.disposition(name))


def _summary(d: Doc, now: datetime) -> Doc:
    deadline = d["view"].get("deadline") or {}
    due = deadline.get("due_at")
    return {
        "stage": deadline.get("stage"),
        "due_at": due,
        "overdue": due is not None and due <= now,
        "complaint_id": d["_id"],
        "office_code": d["office_code"],
        "register_number": d["view"].get("register_number"),
        "channel": d["channel"],
        "received_at": d["received_at"],
        "status": d["view"]["status"],
        "ticket_issued": d["view"].get("ticket_issued", False),
        "notification_failed": d["view"].get("notification_failed", False),
        "communicated": d["view"].get("communicated"),
        "intake_done_at": d["view"].get("intake_done_at"),
        "complainant": d.get("complainant_masked"),
        "category": d.get("category"),
    }


class DatedJSONResponse(JSONResponse):
    """JSON with datetimes as ISO 8601, encoded in one pass: walking the answer to convert them
    first took half the report's time at 800 rows (bench r, bench/profiles)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content,
            ensure_ascii=False,
            allow_nan=False,
            indent=None,
            separators=(",", ":"),
            default=_iso,
        ).encode("utf-8")


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
