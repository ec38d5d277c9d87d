"""The HTTP edge's words for evidence refusals: each domain error (`domain.py`, `sniffing.py`)
as an RFC 9457 problem (shared `ProblemError`) with its status, Indonesian first, then English."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from sipuma.evidence import sniffing as sn
from sipuma.evidence.domain import (
    ComplaintFull,
    DatabaseUnavailable,
    EmptyFile,
    EvidenceError,
    FileTooLarge,
    ForbiddenOffice,
    ForbiddenRole,
    KeyReused,
    KindMismatch,
    StorageUnavailable,
    SupervisorsOnly,
    UnknownComplaint,
    UnknownEvidence,
)
from sipuma.shared.idempotency import KEY_CONFLICT
from sipuma.shared.payloads import EvidenceKind
from sipuma.shared.problems import InvalidParam, Messages, ProblemError, render

ACCEPTED_LIST = (
    "PDF, TIFF, JPEG, PNG, HEIC, WebP, DOC/DOCX, ODT, XLS/XLSX, TXT, "
    "MP3, M4A/AAC, OGG, WAV, AMR, MP4, 3GP, MOV, WebM"
)


# Each refusal names what was wrong in the API's own words: the field as a receiving officer
# knows it, Indonesian first, then English ("berkas: …" / "file: …").
FIELDS: dict[str, tuple[str, str]] = {
    "body": ("berkas", "file"),
    "filename": ("nama berkas", "file name"),
    "content-type": ("jenis isi berkas (Content-Type)", "file content type (Content-Type)"),
    "kind": ("jenis data pendukung", "evidence kind"),
    "complaint_id": ("pengaduan", "complaint"),
    "evidence_id": ("data pendukung", "evidence"),
    "x-file-name": ("nama berkas (X-File-Name)", "file name (X-File-Name)"),
}


def refuse(
    status: int, code: str, id_text: str, en_text: str, field: str | None = None
) -> ProblemError:
    """A problem; with `field`, the texts start with the field's name (`FIELDS`) and the field
    is listed in invalid-params under its API name."""
    params = None
    if field:
        field_id, field_en = FIELDS.get(field, (field, field))
        id_text, en_text = f"{field_id}: {id_text}", f"{field_en}: {en_text}"
        params = [
            InvalidParam(
                name=field, code=code, reason=id_text, messages=Messages(id=id_text, en=en_text)
            )
        ]
    headers = {"Retry-After": "10"} if status == 503 else None
    return ProblemError(status, code, id_text, en_text, invalid_params=params, headers=headers)


def mib(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MiB" if size >= 1024 * 1024 else f"{size} B"


def storage_unavailable() -> ProblemError:
    return refuse(
        503,
        "storage_unavailable",
        "Penyimpanan data pendukung sedang tidak dapat dijangkau. Tidak ada yang disimpan; "
        "silakan coba lagi beberapa saat lagi.",
        "Evidence storage cannot be reached right now. Nothing was stored; "
        "please try again shortly.",
    )


def database_unavailable() -> ProblemError:
    return refuse(
        503,
        "database_unavailable",
        "Basis data layanan data pendukung sedang tidak dapat dijangkau. Tidak ada yang disimpan; "
        "silakan coba lagi beberapa saat lagi.",
        "The evidence database cannot be reached right now. Nothing was stored; please try again.",
    )


def too_large(limit: int, kind: str) -> ProblemError:
    return refuse(
        413,
        "file_too_large",
        f"terlalu besar untuk jenis '{kind}' (maksimum {mib(limit)}).",
        f"too large for kind '{kind}' (at most {mib(limit)}).",
        field="body",
    )


_REFUSED = {
    sn.EXECUTABLE: (
        "program yang dapat dijalankan tidak diterima.",
        "executable programs are not accepted.",
    ),
    sn.ARCHIVE: (
        "arsip (ZIP, RAR, 7z, …) tidak diterima; unggah berkas di dalamnya satu per satu.",
        "archives (ZIP, RAR, 7z, …) are not accepted; upload the files inside one by one.",
    ),
    sn.MARKUP: (
        "halaman web dan markah (HTML, SVG, XML) tidak diterima.",
        "web pages and markup (HTML, SVG, XML) are not accepted.",
    ),
    sn.UNKNOWN: (
        "jenis berkas tidak dikenali dan tidak diterima.",
        "the file type is not recognised and not accepted.",
    ),
}


def unsupported(code: str, detected: str | None, category: str = sn.UNKNOWN) -> ProblemError:
    """415 for a file that is not accepted, or whose name or declared type contradicts it.
    Never echoes what the client sent (a name or a header may carry personal data); only what
    the server recognised."""
    if code == "extension_mismatch":
        return refuse(
            415,
            code,
            f"ekstensinya tidak sesuai dengan isi berkas ({detected}).",
            f"its extension does not match the file's content ({detected}).",
            field="filename",
        )
    if code == "type_mismatch":
        return refuse(
            415,
            code,
            f"tidak sesuai dengan isi berkas ({detected}).",
            f"does not match the file's content ({detected}).",
            field="content-type",
        )
    if category == sn.OTHER and detected and "/" in detected:
        id_text = f"jenis berkas ini ({detected}) tidak diterima."
        en_text = f"this file type ({detected}) is not accepted."
    else:
        id_text, en_text = _REFUSED.get(category, _REFUSED[sn.UNKNOWN])
    return refuse(
        415,
        "unsupported_type",
        f"{id_text} Yang diterima: {ACCEPTED_LIST}.",
        f"{en_text} Accepted: {ACCEPTED_LIST}.",
        field="body",
    )


def kind_mismatch(kind: str, label: str) -> ProblemError:
    return refuse(
        415,
        "kind_mismatch",
        f"berkas {label} tidak diterima sebagai data pendukung jenis '{kind}'.",
        f"a {label} file is not accepted as evidence of kind '{kind}'.",
        field="kind",
    )


def forbidden_role() -> ProblemError:
    return refuse(
        403,
        "forbidden_role",
        "Hanya Penerima Pengaduan atau staf UKI yang boleh mengelola data pendukung.",
        "Only receivers or compliance staff may handle evidence.",
    )


def supervisors_only() -> ProblemError:
    return refuse(
        403,
        "forbidden_role",
        "Hanya supervisor yang dapat melihat audit unduhan data pendukung.",
        "Only supervisors can see the evidence download audit.",
    )


def forbidden_office() -> ProblemError:
    return refuse(
        403,
        "forbidden_office",
        "Pengaduan ini milik kantor lain.",
        "This complaint belongs to another office.",
    )


def unknown_complaint() -> ProblemError:
    return refuse(
        404,
        "complaint_unknown",
        "tidak ditemukan (atau belum tercatat). Simpan pengaduan terlebih dahulu.",
        "not found (or not recorded yet). Save the complaint first.",
        field="complaint_id",
    )


def unknown_evidence() -> ProblemError:
    return refuse(404, "evidence_unknown", "tidak ditemukan.", "not found.", field="evidence_id")


def empty_file() -> ProblemError:
    return refuse(
        422,
        "empty_file",
        "berkas kosong tidak dapat disimpan.",
        "an empty file cannot be stored.",
        field="body",
    )


def complaint_full(max_files: int, max_total_bytes: int) -> ProblemError:
    return refuse(
        413,
        "complaint_evidence_limit",
        f"Batas data pendukung per pengaduan tercapai (maksimum {max_files} berkas, "
        f"{mib(max_total_bytes)} total).",
        f"The complaint's evidence limit is reached (at most {max_files} files, "
        f"{mib(max_total_bytes)} in total).",
    )


def problem_for(error: EvidenceError) -> ProblemError:
    """The answer to a refusal of the use cases."""
    match error:
        case sn.Unsupported(code=code, detected=detected, category=category):
            return unsupported(code, detected, category)
        case KindMismatch(kind=kind, label=label):
            return kind_mismatch(kind, label)
        case FileTooLarge(limit=limit, kind=kind):
            return too_large(limit, kind)
        case ComplaintFull(max_files=files, max_total_bytes=total):
            return complaint_full(files, total)
        case EmptyFile():
            return empty_file()
        case ForbiddenRole():
            return forbidden_role()
        case SupervisorsOnly():
            return supervisors_only()
        case ForbiddenOffice():
            return forbidden_office()
        case UnknownComplaint():
            return unknown_complaint()
        case UnknownEvidence():
            return unknown_evidence()
        case StorageUnavailable():
            return storage_unavailable()
        case DatabaseUnavailable():
            return database_unavailable()
        case KeyReused():
            code, id_text, en_text = KEY_CONFLICT
            return ProblemError(409, code, id_text, en_text)
    raise TypeError(f"no answer for {type(error).__name__}") from error


async def evidence_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EvidenceError)
    return render(problem_for(exc), request)


async def disconnect_handler(request: Request, exc: Exception) -> JSONResponse:
    """The client went away mid-upload; nothing was kept (see `storage.put_stream`)."""
    error = refuse(
        400,
        "upload_incomplete",
        "unggahan terputus sebelum selesai; tidak ada yang disimpan.",
        "the upload was cut off before it finished; nothing was stored.",
        field="body",
    )
    return render(error, request)


def _invalid(error: Any) -> tuple[str, str, str, str]:
    """(API name, code, id text, en text) of one request-validation error, in our words."""
    loc = [str(part) for part in error.get("loc", ())]
    name = loc[-1].lower() if loc else "body"
    code, ctx = str(error.get("type", "invalid")), error.get("ctx") or {}
    if code.startswith("uuid"):
        id_text = "harus berupa UUID (mis. 3f2a5c1e-…)."
        en_text = "must be a UUID (e.g. 3f2a5c1e-…)."
    elif code == "enum":
        allowed = ", ".join(kind.value for kind in EvidenceKind)
        id_text, en_text = f"harus salah satu dari: {allowed}.", f"must be one of: {allowed}."
    elif code == "string_too_long":
        most = ctx.get("max_length", "?")
        id_text = f"terlalu panjang (maksimal {most} karakter)."
        en_text = f"too long (at most {most} characters)."
    elif code == "missing":
        id_text, en_text = "wajib diisi.", "is required."
    else:
        id_text, en_text = "tidak valid.", "is not valid."
    field_id, field_en = FIELDS.get(name, (name, name))
    return name, code, f"{field_id}: {id_text}", f"{field_en}: {en_text}"


async def validation_handler(request: Request, exc: Exception) -> JSONResponse:
    """422 for a path, query or header value FastAPI refused, each field named in the API's own
    words and the answer's own message saying which (the input is never echoed)."""
    assert isinstance(exc, RequestValidationError)
    found = [_invalid(error) for error in exc.errors()]
    params = [
        InvalidParam(name=name, code=code, reason=id_text, messages=Messages(id=id_text, en=en))
        for name, code, id_text, en in found
    ]
    error = ProblemError(
        422,
        "validation_failed",
        " ".join(p.messages.id for p in params) or "Permintaan tidak valid.",
        " ".join(p.messages.en for p in params) or "The request is not valid.",
        invalid_params=params,
    )
    return render(error, request)
