"""HTTP entry points (thin): parse, call the use case, answer.

Uploads are the **raw request body** (`Content-Type` = the file's type, or
`application/octet-stream`), read with `request.stream()`: nothing is spooled to memory or disk
by the framework, unlike `UploadFile`/multipart, which buffer each file into a temporary file.
The file name comes from the `filename` query parameter or the `X-File-Name` header
(percent-encoded UTF-8), and is kept only as sanitised metadata.

No `from __future__ import annotations` here: FastAPI resolves the route-local `Annotated`
dependency aliases at import time.
"""

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from pydantic import BaseModel

from sipuma.evidence.service import EvidenceService, Upload
from sipuma.shared.auth import Principal, TokenVerifier, bearer_principal
from sipuma.shared.correlation import current_correlation_id
from sipuma.shared.payloads import EvidenceKind
from sipuma.shared.problems import ProblemError

ACCEPTED_BODY = {
    "required": True,
    "description": "Isi berkas apa adanya · The file's bytes, as they are (streamed).",
    "content": {
        t: {"schema": {"type": "string", "format": "binary"}}
        for t in ("application/octet-stream", "application/pdf", "image/jpeg", "video/mp4", "*/*")
    },
}


class EvidenceOut(BaseModel):
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
    def of(cls, record: dict[str, Any]) -> "EvidenceOut":
        return cls.model_validate({**record, "evidence_id": record["_id"]})


class EvidenceList(BaseModel):
    items: list[EvidenceOut]


class DownloadLink(BaseModel):
    url: str
    expires_in_s: int


def _service(request: Request) -> EvidenceService:
    service: EvidenceService = request.app.state.service
    return service


UPLOADS = Counter("sipuma_evidence_uploads", "Evidence uploads by answer status", ["status"])
UPLOADED_BYTES = Counter("sipuma_evidence_uploaded_bytes", "Bytes of evidence stored")


def build_router(verifier: TokenVerifier) -> APIRouter:
    router = APIRouter(prefix="/v1/complaints/{complaint_id}/evidence", tags=["evidence"])
    Who = Annotated[Principal, Depends(bearer_principal(verifier))]
    Service = Annotated[EvidenceService, Depends(_service)]

    @router.post(
        "",
        status_code=201,
        response_model=EvidenceOut,
        summary="Unggah data pendukung · Upload evidence",
        description=(
            "Mengalirkan berkas langsung ke penyimpanan; jenis ditentukan dari isi berkas. "
            "Streams the file straight to storage; its type is decided from its content. "
            "413 too large, 415 unsupported or contradicting type, 503 storage unreachable."
        ),
        openapi_extra={"requestBody": ACCEPTED_BODY},
        responses={
            403: {"description": "Not allowed"},
            404: {"description": "Complaint unknown"},
            413: {"description": "Too large"},
            415: {"description": "Unsupported type"},
            503: {"description": "Storage unavailable"},
        },
    )
    async def upload_evidence(
        complaint_id: uuid.UUID,
        request: Request,
        who: Who,
        service: Service,
        kind: Annotated[
            EvidenceKind | None, Query(description="scan, soft_copy, photo, ...")
        ] = None,
        filename: Annotated[str | None, Query(max_length=1000)] = None,
        x_file_name: Annotated[str | None, Header(max_length=3000)] = None,
        content_type: Annotated[str | None, Header()] = None,
        # A transport header: the HTTP server itself rejects a malformed one (plain-text 400)
        # before the app runs, so it is read here but not offered as an API parameter.
        content_length: Annotated[int | None, Header(ge=0, include_in_schema=False)] = None,
    ) -> JSONResponse:
        name = filename if filename is not None else (unquote(x_file_name) if x_file_name else None)
        up = Upload(
            complaint_id=complaint_id,
            kind=kind,
            declared_type=content_type,
            filename=name,
            length=content_length,
            body=request.stream(),
            correlation_id=current_correlation_id(),
        )
        try:
            record = await service.upload(who, up)
        except ProblemError as refused:
            UPLOADS.labels(str(refused.status)).inc()
            raise
        UPLOADS.labels("201").inc()
        UPLOADED_BYTES.inc(record["size_bytes"])
        out = EvidenceOut.of(record)
        return JSONResponse(
            out.model_dump(mode="json"),
            status_code=201,
            headers={"Location": f"{request.url.path}/{out.evidence_id}"},
        )

    @router.get("", response_model=EvidenceList, summary="Daftar data pendukung · List evidence")
    async def list_evidence(complaint_id: uuid.UUID, who: Who, service: Service) -> EvidenceList:
        return EvidenceList(
            items=[EvidenceOut.of(r) for r in await service.list(who, complaint_id)]
        )

    @router.get(
        "/{evidence_id}", response_model=EvidenceOut, summary="Satu data pendukung · One item"
    )
    async def get_evidence(
        complaint_id: uuid.UUID, evidence_id: uuid.UUID, who: Who, service: Service
    ) -> EvidenceOut:
        return EvidenceOut.of(await service.get(who, complaint_id, evidence_id))

    @router.get(
        "/{evidence_id}/download",
        response_model=DownloadLink,
        summary="Tautan unduh sementara · Short-lived download link",
        description="Presigned URL; the file is served as an attachment, never inline.",
    )
    async def download_evidence(
        complaint_id: uuid.UUID, evidence_id: uuid.UUID, who: Who, service: Service
    ) -> JSONResponse:
        url, ttl = await service.download_link(who, complaint_id, evidence_id)
        body = DownloadLink(url=url, expires_in_s=ttl).model_dump()
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return router
