"""Evidence refusals as RFC 9457 problems (shared `ProblemError`), Indonesian first, English."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from sipuma.shared.problems import InvalidParam, Messages, ProblemError, render

ACCEPTED_LIST = (
    "PDF, TIFF, JPEG, PNG, HEIC, WebP, DOC/DOCX, ODT, XLS/XLSX, TXT, "
    "MP3, M4A/AAC, OGG, WAV, AMR, MP4, 3GP, MOV, WebM"
)


def refuse(
    status: int, code: str, id_text: str, en_text: str, field: str | None = None
) -> ProblemError:
    params = (
        [
            InvalidParam(
                name=field, code=code, reason=id_text, messages=Messages(id=id_text, en=en_text)
            )
        ]
        if field
        else None
    )
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
        f"Berkas terlalu besar untuk jenis '{kind}' (maksimum {mib(limit)}).",
        f"The file is too large for kind '{kind}' (at most {mib(limit)}).",
        field="body",
    )


def unsupported(code: str, detected: str | None, declared: str | None) -> ProblemError:
    seen = detected or "tidak dikenal"
    texts = {
        "unsupported_type": (
            f"Jenis berkas tidak diterima (isi berkas: {seen}). Yang diterima: {ACCEPTED_LIST}.",
            f"This file type is not accepted (content: {detected or 'unknown'}). "
            f"Accepted: {ACCEPTED_LIST}.",
            "body",
        ),
        "extension_mismatch": (
            f"Ekstensi nama berkas tidak sesuai dengan isinya (isi berkas: {seen}).",
            f"The file name's extension contradicts its content (content: {detected}).",
            "filename",
        ),
        "type_mismatch": (
            f"Content-Type '{declared}' tidak sesuai dengan isi berkas ({seen}).",
            f"Content-Type '{declared}' contradicts the file's content ({detected}).",
            "content-type",
        ),
    }
    id_text, en_text, field = texts[code]
    return refuse(415, code, id_text, en_text, field=field)


def kind_mismatch(kind: str, label: str) -> ProblemError:
    return refuse(
        415,
        "kind_mismatch",
        f"Berkas {label} tidak diterima sebagai data pendukung jenis '{kind}'.",
        f"A {label} file is not accepted as evidence of kind '{kind}'.",
        field="kind",
    )


async def disconnect_handler(request: Request, exc: Exception) -> JSONResponse:
    """The client went away mid-upload; nothing was kept (see `storage.put_stream`)."""
    error = refuse(
        400,
        "upload_incomplete",
        "Unggahan terputus sebelum selesai; tidak ada yang disimpan.",
        "The upload was cut off before it finished; nothing was stored.",
        field="body",
    )
    return render(error, request)
