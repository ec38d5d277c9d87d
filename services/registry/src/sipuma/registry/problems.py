"""The registry's domain errors as problem+json answers (Indonesian first, English too), rendered
by the shared handler: one place for the texts, so the routes only call use cases."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sipuma.registry.domain import (
    CategoryConflict,
    Conflict,
    CorrectionRefused,
    NotFound,
    ReasonRequired,
    TransitionRefused,
    UnknownTicket,
)
from sipuma.shared.problems import (
    InvalidParam,
    Messages,
    ProblemError,
    conflict,
    not_found,
    render,
    unprocessable,
)

DOMAIN_ERRORS = (
    NotFound,
    TransitionRefused,
    CorrectionRefused,
    Conflict,
    UnknownTicket,
    ReasonRequired,
)
REASON_REQUIRED = (
    "Alasan wajib diisi untuk mengubah kategori yang sudah ditetapkan.",
    "A reason is required to change a category already set.",
)


def problem_for(error: Exception) -> ProblemError:
    if isinstance(error, NotFound):
        number = error.register_number
        return not_found(
            f"Pengaduan dengan nomor register {number} tidak ditemukan.",
            f"No complaint with register number {number}.",
            "complaint_not_found",
        )
    if isinstance(error, TransitionRefused):
        return conflict(*error.messages, "transition_refused")
    if isinstance(error, CorrectionRefused):
        return conflict(*error.messages, error.code)
    if isinstance(error, CategoryConflict):
        return conflict(
            "Kategori baru saja diubah oleh petugas lain. Muat ulang lalu coba lagi.",
            "The category was just changed by someone else. Reload and try again.",
            "concurrent_change",
        )
    if isinstance(error, ReasonRequired):
        id_text, en_text = REASON_REQUIRED
        messages = Messages(id=id_text, en=en_text)
        return unprocessable(
            [InvalidParam(name="reason", code="reason_required", reason=id_text, messages=messages)]
        )
    if isinstance(error, Conflict):
        return conflict(
            "Status baru saja diubah oleh petugas lain. Muat ulang lalu coba lagi.",
            "The status was just changed by someone else. Reload and try again.",
            "concurrent_change",
        )
    if isinstance(error, UnknownTicket):  # the same answer for an unknown and a malformed one
        return not_found(
            "Nomor tiket tidak dikenal. Periksa kembali nomor tiket Anda.",
            "Unknown ticket number. Please check your ticket number.",
            "ticket_unknown",
        )
    raise TypeError(f"not a registry domain error: {type(error).__name__}")


def rate_limited(retry_after: int) -> ProblemError:
    return ProblemError(
        429,
        "rate_limited",
        "Terlalu banyak permintaan. Coba lagi nanti.",
        "Too many requests. Try again later.",
        headers={"Retry-After": str(retry_after)},
    )


def install_domain_problems(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        return render(problem_for(exc), request)

    for error in DOMAIN_ERRORS:
        app.add_exception_handler(error, handle)
