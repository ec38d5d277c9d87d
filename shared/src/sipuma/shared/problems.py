"""RFC 9457 problem details (`application/problem+json`) for every 4xx/5xx answer.

A 422 lists each invalid field with its rule code and the message in Indonesian (`id`) and
English (`en`); input values are never echoed (they may be personal data). The same body shape
as `auth.auth_problem`, so clients handle one format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from sipuma.shared.pydantic_messages import english, indonesian
from sipuma.shared.rules import RuleViolation

MEDIA_TYPE = "application/problem+json"


class Messages(BaseModel):
    id: str
    en: str


class InvalidParam(BaseModel):
    name: str = Field(description="Dotted path of the field, e.g. complainant.phone")
    code: str = Field(description="Stable rule code")
    reason: str = Field(description="Indonesian message (same as messages.id)")
    messages: Messages


class Problem(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str
    messages: Messages
    invalid_params: list[InvalidParam] | None = Field(None, alias="invalid-params")


class ProblemError(Exception):
    """Raise from a route (or use a helper below); the installed handler renders it."""

    def __init__(
        self,
        status: int,
        code: str,
        id_text: str,
        en_text: str,
        *,
        invalid_params: list[InvalidParam] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.status, self.code, self.id_text, self.en_text = status, code, id_text, en_text
        self.invalid_params = invalid_params
        self.headers = headers

    def problem(self, instance: str | None = None) -> Problem:
        return Problem(
            type=f"urn:sipuma:problem:{self.code}",
            title=self.en_text,
            status=self.status,
            detail=self.id_text,
            instance=instance,
            code=self.code,
            messages=Messages(id=self.id_text, en=self.en_text),
            invalid_params=self.invalid_params,
        )


def field_path(loc: tuple[int | str, ...]) -> str:
    parts = list(loc[1:] if loc and loc[0] == "body" else loc)
    return ".".join(str(part) for part in parts) or "body"


def invalid_param(error: Any) -> InvalidParam:
    """One pydantic error → one invalid field; our rules carry their own code and texts."""
    ctx = error.get("ctx") or {}
    if "rule" in ctx:
        code, id_text, en_text = str(ctx["rule"]), str(ctx["id"]), str(ctx["en"])
    else:
        code = str(error["type"])
        id_text, en_text = indonesian(code, ctx), english(code, ctx)  # never pydantic's wording
    return InvalidParam(
        name=field_path(tuple(error["loc"])),
        code=code,
        reason=id_text,
        messages=Messages(id=id_text, en=en_text),
    )


def unprocessable(params: list[InvalidParam]) -> ProblemError:
    return ProblemError(
        422,
        "validation_failed",
        f"Ada {len(params)} isian yang tidak valid; lihat invalid-params.",
        f"{len(params)} field(s) are not valid; see invalid-params.",
        invalid_params=params,
    )


def bad_request(id_text: str, en_text: str, code: str = "bad_request") -> ProblemError:
    return ProblemError(400, code, id_text, en_text)


def unauthorized() -> ProblemError:
    return ProblemError(
        401,
        "token_missing",
        "Token akses (Authorization: Bearer) wajib disertakan.",
        "An access token (Authorization: Bearer) is required.",
        headers={"WWW-Authenticate": 'Bearer realm="sipuma"'},
    )


def forbidden(id_text: str, en_text: str, code: str = "forbidden") -> ProblemError:
    return ProblemError(403, code, id_text, en_text)


def not_found(id_text: str, en_text: str, code: str = "not_found") -> ProblemError:
    return ProblemError(404, code, id_text, en_text)


def conflict(id_text: str, en_text: str, code: str = "conflict") -> ProblemError:
    return ProblemError(409, code, id_text, en_text)


def payload_too_large(limit_bytes: int) -> ProblemError:
    mb = f"{limit_bytes / 1_048_576:.0f} MB" if limit_bytes >= 1_048_576 else f"{limit_bytes} B"
    return ProblemError(
        413,
        "payload_too_large",
        f"Berkas atau isi permintaan terlalu besar (maksimal {mb}).",
        f"The file or request body is too large (at most {mb}).",
    )


_HTTP_TEXTS = {
    400: ("bad_request", "Permintaan tidak valid.", "The request is not valid."),
    404: ("not_found", "Alamat tidak ditemukan.", "Not found."),
    405: ("method_not_allowed", "Metode HTTP tidak diizinkan.", "Method not allowed."),
    413: ("payload_too_large", "Isi permintaan terlalu besar.", "The request body is too large."),
    415: ("unsupported_media_type", "Jenis isi tidak didukung.", "Unsupported media type."),
}


def route_template(scope: Mapping[str, Any]) -> str | None:
    """The matched route's template (`/v1/track/{ticket}`), never the raw path: a raw path can
    carry a secret (a ticket) or personal data. None when no route matched."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None


def render(error: ProblemError, request: Request) -> JSONResponse:
    body = error.problem(route_template(request.scope)).model_dump(by_alias=True, exclude_none=True)
    return JSONResponse(body, error.status, headers=error.headers, media_type=MEDIA_TYPE)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return render(exc, request)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        params = [invalid_param(error) for error in exc.errors()]
        if params and all(p.code == "json_invalid" for p in params):
            return render(
                bad_request(params[0].messages.id, params[0].messages.en, "json_invalid"), request
            )
        return render(unprocessable(params), request)

    async def on_rule(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RuleViolation)
        rule = exc.rule
        param = InvalidParam(
            name=exc.field or "body",
            code=rule.code,
            reason=rule.id,
            messages=Messages(id=rule.id, en=rule.en),
        )
        return render(unprocessable([param]), request)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code, id_text, en_text = _HTTP_TEXTS.get(
            exc.status_code, ("http_error", "Permintaan tidak dapat diproses.", str(exc.detail))
        )
        headers = dict(exc.headers) if exc.headers else None
        return render(
            ProblemError(exc.status_code, code, id_text, en_text, headers=headers), request
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Details stay in the logs (redacted); the client learns only that it was not its fault.
        error = ProblemError(
            500,
            "internal_error",
            "Terjadi kesalahan pada server. Silakan coba lagi.",
            "Something went wrong on the server. Please try again.",
        )
        return render(error, request)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(RuleViolation, on_rule)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": text}
    for status, text in ((401, "Unauthorized"), (403, "Forbidden"), (422, "Invalid fields"))
}
