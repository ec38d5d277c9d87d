"""HTTP entry points (thin): parse, call the use case, answer; a refusal of the use case is put
into words at this edge (`problems.py`).

Uploads are the **raw request body** (`Content-Type` = the file's type, or
`application/octet-stream`), read with `request.stream()`: nothing is spooled to memory or disk
by the framework, unlike `UploadFile`/multipart, which buffer each file into a temporary file.
The file name comes from the `filename` query parameter or the `X-File-Name` header
(percent-encoded UTF-8), and is kept only as sanitised metadata.

No `from __future__ import annotations` here: FastAPI resolves the route-local `Annotated`
dependency aliases at import time.
"""

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from sipuma.evidence.domain import EvidenceError, EvidenceRecord, evidence_id_for
from sipuma.evidence.metrics import UPLOADED_BYTES, UPLOADS
from sipuma.evidence.problems import problem_for
from sipuma.evidence.service import EvidenceService, Upload
from sipuma.shared.auth import Principal, TokenVerifier, bearer_principal
from sipuma.shared.correlation import current_correlation_id
from sipuma.shared.idempotency import (
    REPLAYED,
    Answer,
    IdemKey,
    IdempotencyAnswers,
    StoredAnswer,
    checked_key,
    fingerprint,
    idempotent,
    scope_of,
)
from sipuma.shared.payloads import EvidenceKind
from sipuma.shared.registry_lookup import RegistryLookup, by_id, by_number

ACCEPTED_BODY = {
    "required": True,
    "description": "Isi berkas apa adanya · The file's bytes, as they are (streamed).",
    "content": {
        t: {"schema": {"type": "string", "format": "binary"}}
        for t in ("application/octet-stream", "application/pdf", "image/jpeg", "video/mp4", "*/*")
    },
}


class EvidenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    evidence_id: uuid.UUID
    complaint_id: uuid.UUID
    kind: EvidenceKind
    content_type: str
    size_bytes: int
    sha256: str
    file_name: str | None
    uploaded_by: str
    uploaded_at: datetime
    retained_until: datetime | None

    @classmethod
    def of(cls, record: EvidenceRecord) -> "EvidenceOut":
        return cls.model_validate(record)


class EvidenceList(BaseModel):
    items: list[EvidenceOut]


class DownloadLink(BaseModel):
    url: str
    expires_in_s: int


def build_router(
    verifier: TokenVerifier,
    service: EvidenceService,
    registry: RegistryLookup,
    answers: IdempotencyAnswers,
) -> APIRouter:
    """The evidence routes twice: under the complaint id, and under the register number staff
    see (`/v1/complaints/by-number/{number}/evidence`, the number's '/' kept in the path; the
    registry says which complaint it is, under the caller's token)."""
    router = APIRouter()
    who = bearer_principal(verifier)

    router.include_router(
        _routes(who, service, answers, by_id), prefix="/v1/complaints/{complaint_id}"
    )
    router.include_router(
        _routes(who, service, answers, by_number(registry, who)),
        prefix="/v1/complaints/by-number/{number:path}",
    )
    return router


def _routes(
    principal: Callable[..., Awaitable[Principal]],
    service: EvidenceService,
    answers: IdempotencyAnswers,
    complaint: Callable[..., Awaitable[uuid.UUID]],
) -> APIRouter:
    router = APIRouter(prefix="/evidence", tags=["evidence"])
    Who = Annotated[Principal, Depends(principal)]
    ComplaintId = Annotated[uuid.UUID, Depends(complaint)]

    @router.post(
        "",
        status_code=201,
        response_model=EvidenceOut,
        summary="Unggah data pendukung · Upload evidence",
        description=(
            "Mengalirkan berkas langsung ke penyimpanan; jenis ditentukan dari isi berkas. "
            "Streams the file straight to storage; its type is decided from its content. "
            "413 too large, 415 unsupported or contradicting type, 503 storage unreachable. "
            "Dengan `Idempotency-Key`, unggahan ulang berkas yang sama mendapat jawaban yang "
            "sama dan tidak disimpan dua kali. With `Idempotency-Key`, a retry of the same file "
            "gets the same answer (`Idempotent-Replayed: true`) and is stored once; another "
            "file under the same key → 409."
        ),
        openapi_extra={"requestBody": ACCEPTED_BODY},
        responses={
            403: {"description": "Not allowed"},
            404: {"description": "Complaint unknown"},
            409: {"description": "Idempotency-Key dipakai untuk berkas lain / masih diproses"},
            413: {"description": "Too large"},
            415: {"description": "Unsupported type"},
            503: {"description": "Storage unavailable"},
        },
    )
    async def upload_evidence(
        # Dependencies in this order (headers are validated only after them): the token, the
        # key (a malformed one is a 422 before the registry is asked by number), the complaint.
        who: Who,
        _: Annotated[str | None, Depends(checked_key)],
        complaint_id: ComplaintId,
        request: Request,
        kind: Annotated[
            EvidenceKind | None, Query(description="scan, soft_copy, photo, ...")
        ] = None,
        filename: Annotated[str | None, Query(max_length=1000)] = None,
        x_file_name: Annotated[str | None, Header(max_length=3000)] = None,
        content_type: Annotated[str | None, Header()] = None,
        # A transport header: the HTTP server itself rejects a malformed one (plain-text 400)
        # before the app runs, so it is read here but not offered as an API parameter.
        content_length: Annotated[int | None, Header(ge=0, include_in_schema=False)] = None,
        idempotency_key: IdemKey = None,
    ) -> Response:
        name = filename if filename is not None else (unquote(x_file_name) if x_file_name else None)
        up = Upload(
            complaint_id=complaint_id,
            kind=kind,
            declared_type=content_type,
            filename=name,
            length=content_length,
            body=request.stream(),
            correlation_id=current_correlation_id(),
            evidence_id=(
                evidence_id_for(who.officer_id, str(complaint_id), idempotency_key)
                if idempotency_key
                else None
            ),
        )

        async def run() -> Answer:
            try:
                record = await service.upload(who, up)
            except EvidenceError as refused:
                problem = problem_for(refused)
                UPLOADS.labels(str(problem.status)).inc()
                raise problem from None
            UPLOADS.labels("201").inc()
            UPLOADED_BYTES.inc(record.size_bytes)
            out = EvidenceOut.of(record)
            location = f"{request.url.path}/{out.evidence_id}"
            return 201, out.model_dump(mode="json"), {"Location": location}

        async def same_file(kept: StoredAnswer) -> bool:
            return await service.same_file(up, kept.body["sha256"], kept.body["size_bytes"])

        # The request is its parameters here; the file itself is compared with the kept
        # answer's hash on a retry (`same_file`), since it is only known once read.
        asked = {"kind": kind.value if kind else None, "name": name, "type": content_type}
        answer = await idempotent(
            answers,
            request,
            scope_of(who.officer_id, f"POST evidence {complaint_id}"),
            idempotency_key,
            fingerprint(json.dumps(asked, sort_keys=True).encode()),
            run,
            matches=same_file,
        )
        if REPLAYED in answer.headers:  # answered again without storing (a retry)
            UPLOADS.labels("201_replayed").inc()
        elif answer.status_code == 409:  # the key: another file, or its first still runs
            UPLOADS.labels("409").inc()
        return answer

    @router.get("", response_model=EvidenceList, summary="Daftar data pendukung · List evidence")
    async def list_evidence(complaint_id: ComplaintId, who: Who) -> EvidenceList:
        return EvidenceList(
            items=[EvidenceOut.of(r) for r in await service.list(who, complaint_id)]
        )

    @router.get(
        "/{evidence_id}", response_model=EvidenceOut, summary="Satu data pendukung · One item"
    )
    async def get_evidence(
        complaint_id: ComplaintId, evidence_id: uuid.UUID, who: Who
    ) -> EvidenceOut:
        return EvidenceOut.of(await service.get(who, complaint_id, evidence_id))

    @router.get(
        "/{evidence_id}/download",
        response_model=DownloadLink,
        summary="Tautan unduh sementara · Short-lived download link",
        description="Presigned URL; the file is served as an attachment, never inline.",
    )
    async def download_evidence(
        complaint_id: ComplaintId, evidence_id: uuid.UUID, who: Who
    ) -> JSONResponse:
        url, ttl = await service.download_link(who, complaint_id, evidence_id)
        body = DownloadLink(url=url, expires_in_s=ttl).model_dump()
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return router


def build_audit_router(verifier: TokenVerifier, service: EvidenceService) -> APIRouter:
    """The supervisors' view of evidence downloads (a scan may be the complainant's KTP)."""
    router = APIRouter(prefix="/v1/audit/evidence-downloads", tags=["audit"])
    Who = Annotated[Principal, Depends(bearer_principal(verifier))]

    @router.get("", summary="Siapa mengunduh data pendukung · Who downloaded evidence")
    async def download_audit(
        who: Who,
        complaint_id: uuid.UUID | None = None,
        officer_id: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> JSONResponse:
        items = await service.download_audit(who, complaint_id, officer_id, limit)
        body = jsonable_encoder({"items": items})
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @router.get("/verify", summary="Periksa rantai audit · Check the audit chain")
    async def verify_download_audit(who: Who) -> JSONResponse:
        return JSONResponse(await service.verify_download_audit(who))

    return router
