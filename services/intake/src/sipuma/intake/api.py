"""HTTP entry points: parse, authenticate, call the use case, answer. No rules live here; the
use cases' refusals become problems in `problems.py`."""

# No `from __future__ import annotations`: FastAPI reads the route signatures at import.

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from sipuma.intake import domain
from sipuma.intake.answers import amended_message, contact_outcome, status_message
from sipuma.intake.domain import Amendment, ComplaintStatus, Delivery, Entry, Hint
from sipuma.intake.models import (
    AmendmentAccepted,
    ComplaintAccepted,
    ComplaintIn,
    DuplicateHint,
    RegisterNumberCommunicationIn,
    ReportedEmployeesIn,
    StatusOut,
    SupplementIn,
    TrackingContactIn,
)
from sipuma.intake.ports import IdempotencyStore
from sipuma.intake.service import Amended, Intake
from sipuma.shared.auth import Principal, TokenVerifier, bearer_principal
from sipuma.shared.correlation import usable
from sipuma.shared.idempotency import Answer, IdemKey, checked_key, fingerprint, scope_of
from sipuma.shared.idempotency import idempotent as kept_once
from sipuma.shared.problems import MEDIA_TYPE, Problem
from sipuma.shared.registry_lookup import RegistryLookup, by_id, by_number

_PROBLEM: dict[str, Any] = {"model": Problem, "content": {MEDIA_TYPE: {}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Token tidak ada / tidak sah · Missing or invalid token", **_PROBLEM},
    403: {
        "description": (
            "Bukan penerima kantor ini, atau kantor pada token tidak terdaftar · Not a receiver "
            "of this office, or the token's office is not configured (office_not_configured)"
        ),
        **_PROBLEM,
    },
    409: {"description": "Idempotency-Key dipakai untuk isi lain · Key reused", **_PROBLEM},
    413: {"description": "Isi terlalu besar · Body too large", **_PROBLEM},
    422: {"description": "Isian tidak valid · Invalid fields (field, rule, id, en)", **_PROBLEM},
}
AMEND_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"model": AmendmentAccepted, "description": "Tersimpan · Saved"},
    202: {"model": AmendmentAccepted, "description": "Antre · Queued locally"},
    404: {"description": "Pengaduan tidak ditemukan · Complaint not found", **_PROBLEM},
}
CONTACT_DESCRIPTION = (
    "Satu kanal yang salah tidak menggugurkan kanal lain: e-mail yang sah disimpan walau "
    "nomor HP ditolak (mis. telepon rumah/kantor atau 0800 bebas pulsa), dan sebaliknya; "
    "`tracking_contact.refused` pada jawaban menyebut kanal yang ditolak dan alasannya. "
    "Bila semua kanal ditolak: 422, tidak ada yang berubah.\n\n"
    "One bad channel never costs the other: a valid e-mail is saved even when the mobile "
    "is refused (e.g. a landline or a toll-free 0800 number), and the other way round; "
    "`tracking_contact.refused` in the answer names each refused channel and why. When "
    "every channel is refused: 422, nothing changes."
)
COMMUNICATION_SUMMARY = (
    "Nomor register disampaikan / pengadu tak terhubungi · Number told or unreachable"
)

ComplaintId = Annotated[uuid.UUID, Path(description="ID pengaduan · complaint id")]


def _status_url(complaint_id: str) -> str:
    return f"/v1/complaints/{complaint_id}/status"


def correlation_id(request: Request) -> str:
    """Set by the shared CorrelationIdMiddleware (X-Correlation-ID, validated or new)."""
    given = request.scope.get("state", {}).get("correlation_id")
    return given if isinstance(given, str) else usable(request.headers.get("x-correlation-id"))


def _status_out(entry: Entry) -> StatusOut:
    return StatusOut(
        complaint_id=entry.complaint_id,
        office_code=entry.office_code,
        status=entry.status,
        register_number=entry.register_number,
        registered_at=entry.registered_at,
        message=status_message(entry.status, entry.register_number),
    )


def _hints_for(who: Principal, hints: list[Hint] | None) -> list[DuplicateHint] | None:
    """Another office's filing is counted, not named (as in the registry's detail)."""
    if hints is None:
        return None
    return [
        DuplicateHint(
            office_code=h.office_code,
            received_at=h.received_at,
            register_number=h.register_number if who.may_act_for(h.office_code) else None,
            visible=who.may_act_for(h.office_code),
        )
        for h in hints
    ]


def _accepted(done: Amended, kind: str) -> Answer:
    body = AmendmentAccepted(
        complaint_id=done.complaint_id,
        amendment_id=done.amendment_id,
        kind=kind,
        status=done.delivery,
        tracking_contact=(
            contact_outcome(done.contact, correction=kind == "tracking_contact")
            if done.contact
            else None
        ),
        message=amended_message(done.delivery),
    )
    return (202 if done.delivery is Delivery.QUEUED else 201), body.model_dump(mode="json"), {}


def build_router(
    verifier: TokenVerifier, intake: Intake, answers: IdempotencyStore, registry: RegistryLookup
) -> APIRouter:
    principal = bearer_principal(verifier)
    Officer = Annotated[Principal, Depends(principal)]

    async def idempotent(
        request: Request,
        who: Principal,
        key: str | None,
        scope: str,
        run: Callable[[uuid.UUID], Awaitable[Answer]],
    ) -> Response:
        if key is None:
            return await kept_once(answers, request, "", None, "", lambda: run(uuid.uuid4()))
        # The ids follow from the key, so a retry on another replica is the same complaint.
        ids = domain.deterministic_id(who.officer_id, scope, key)
        print_ = fingerprint(await request.body())
        where = scope_of(who.officer_id, scope)
        return await kept_once(answers, request, where, key, print_, lambda: run(ids))

    @dataclass(frozen=True)
    class Amending:
        """One amendment request: the complaint, the officer, the request and its key."""

        complaint_id: str
        who: Principal
        request: Request
        key: str | None

        async def run(
            self, scope: str, kind: str, use_case: Callable[[Amendment], Awaitable[Amended]]
        ) -> Response:
            cor = correlation_id(self.request)

            async def run(aid: uuid.UUID) -> Answer:
                change = Amendment(self.who, self.complaint_id, str(aid), cor)
                return _accepted(await use_case(change), kind)

            scope = f"{scope} {self.complaint_id}"
            return await idempotent(self.request, self.who, self.key, scope, run)

    def amending(
        resolve: Callable[..., Awaitable[uuid.UUID]],
    ) -> Callable[..., Awaitable[Amending]]:
        """The amendment of the complaint `resolve` names: by id, or by register number (the
        registry decides, under the caller's own token, which complaint the number is).

        Dependencies run in this order, before the header parameters are validated: the token
        (401 first, as by id), the key (a malformed one is a 422 without a registry call, also
        for an unknown number or a registry that is down), then the complaint."""

        async def amending(  # async: a plain def would run in a worker thread
            who: Officer,
            _: Annotated[str | None, Depends(checked_key)],
            complaint_id: Annotated[uuid.UUID, Depends(resolve)],
            request: Request,
            idempotency_key: IdemKey = None,  # validated already; declared for the API schema
        ) -> Amending:
            return Amending(str(complaint_id), who, request, idempotency_key)

        return amending

    router = APIRouter(prefix="/v1/complaints", tags=["pengaduan · complaints"], responses=ERRORS)

    @router.post(
        "",
        status_code=201,
        summary="Catat pengaduan · Record a complaint (SOP steps 3–4)",
        description=(
            "Kontak pemantauan (opsional) tidak pernah menggugurkan pengaduan: kanal yang ditolak "
            "disebut di `tracking_contact.refused`, kanal yang sah tetap dipakai; bila semua "
            "ditolak, pengaduan tetap tersimpan tanpa kontak (`tracking_contact.channels` kosong) "
            "dan kontak dapat diperbaiki dengan PUT tracking-contact.\n\n"
            "The (optional) tracking contact never costs the complaint: refused channels are "
            "named in `tracking_contact.refused` and the valid one is kept; when every channel is "
            "refused the complaint is still saved, without a contact (`tracking_contact.channels` "
            "empty), and the contact can be corrected with PUT tracking-contact."
        ),
        responses={
            201: {"model": ComplaintAccepted, "description": "Tersimpan, nomor register ada"},
            202: {"model": ComplaintAccepted, "description": "Tersimpan; nomor menyusul / antre"},
        },
    )
    async def record_complaint(
        body: ComplaintIn, request: Request, who: Officer, idempotency_key: IdemKey = None
    ) -> Response:
        cor = correlation_id(request)

        async def run(complaint_id: uuid.UUID) -> Answer:
            done = await intake.record_complaint(who, body, complaint_id, cor)
            entry = done.entry
            number = entry.register_number if entry else None
            answer = ComplaintAccepted(
                complaint_id=done.complaint_id,
                status=done.status,
                register_number=number,
                registered_at=entry.registered_at if entry else None,
                status_url=_status_url(done.complaint_id),
                message=status_message(done.status, number),
                tracking_contact=contact_outcome(done.contact) if done.contact else None,
                possible_duplicates=_hints_for(who, done.duplicates),
            )
            code = 201 if done.status is ComplaintStatus.REGISTERED else 202
            headers = {"Location": _status_url(done.complaint_id)}
            return code, answer.model_dump(mode="json"), headers

        return await idempotent(request, who, idempotency_key, "POST /v1/complaints", run)

    @router.get(
        "/{complaint_id}/status",
        response_model=StatusOut,
        summary="Status dan nomor register · Status and register number",
    )
    async def complaint_status(complaint_id: ComplaintId, who: Officer) -> StatusOut:
        return _status_out(intake.status(who, str(complaint_id)))

    @router.get(
        "/by-number/{register_number:path}",
        response_model=StatusOut,
        summary="Cari dengan nomor register · Find by register number (any case)",
        description="Staf memakai nomor register, bukan UUID: jawaban memberi `complaint_id` "
        "untuk tambahan, kontak, penyampaian nomor dan bukti. / Staff use register numbers, not "
        "UUIDs: the answer gives the `complaint_id` for additions, contact, number told, evidence.",
    )
    async def complaint_by_number(register_number: str, who: Officer) -> StatusOut:
        return _status_out(intake.by_number(who, register_number))

    def amendment_routes(where: str, resolve: Callable[..., Awaitable[uuid.UUID]]) -> None:
        """The amendment routes under `where`: the complaint id, or the register number."""
        Amend = Annotated[Amending, Depends(amending(resolve))]

        @router.post(
            f"{where}/supplements",
            status_code=201,
            responses=AMEND_RESPONSES,
            summary="Data tambahan atau ralat · Addition or correction (original kept)",
        )
        async def add_supplement(body: SupplementIn, amend: Amend) -> Response:
            return await amend.run(
                "supplement", body.kind.value, lambda change: intake.add_supplement(change, body)
            )

        @router.post(
            f"{where}/reported-employees",
            status_code=201,
            responses=AMEND_RESPONSES,
            summary="Pegawai yang diadukan · Reported employees",
        )
        async def add_reported_employees(body: ReportedEmployeesIn, amend: Amend) -> Response:
            return await amend.run(
                "employees",
                "reported_employees",
                lambda change: intake.add_reported_employees(change, body),
            )

        @router.put(
            f"{where}/tracking-contact",
            status_code=201,
            responses=AMEND_RESPONSES,
            summary="Kontak pemantauan tindak lanjut · Tracking contact (SOP steps 7–8)",
            description=CONTACT_DESCRIPTION,
        )
        async def set_tracking_contact(body: TrackingContactIn, amend: Amend) -> Response:
            return await amend.run(
                "contact",
                "tracking_contact",
                lambda change: intake.set_tracking_contact(change, body),
            )

        @router.post(
            f"{where}/register-number-communication",
            status_code=201,
            responses=AMEND_RESPONSES,
            summary=COMMUNICATION_SUMMARY,
        )
        async def record_communication(
            body: RegisterNumberCommunicationIn, amend: Amend
        ) -> Response:
            return await amend.run(
                "communication",
                "register_number_communication",
                lambda change: intake.record_communication(change, body),
            )

    amendment_routes("/{complaint_id}", by_id)
    # Register numbers carry '/': the `path` converter takes them whole (the suffix still routes).
    amendment_routes("/by-number/{number:path}", by_number(registry, principal))

    return router
