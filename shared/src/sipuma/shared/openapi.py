"""The OpenAPI document tells the truth about errors: every 4xx a client can be answered with is
declared, as `application/problem+json` with the `Problem` schema.

FastAPI documents only what a route declares, plus a JSON 422 shape we never send (our handlers
answer problem+json). Rather than repeat the same error list on every route, the document is
completed once, when it is first generated: which errors apply follows from the operation itself
(a body can be too large or of the wrong type, a secured operation can answer 401/403, and so on).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from sipuma.shared.problems import MEDIA_TYPE, Problem

PROBLEM_REF = "#/components/schemas/Problem"
# Every operation: malformed request, unknown resource, invalid fields, too many requests,
# a dependency (Kafka, the store) briefly unavailable.
ALWAYS: dict[str, str] = {
    "400": "Permintaan tidak valid / bad request",
    "404": "Tidak ditemukan / not found",
    "422": "Isian tidak valid (per bidang, id + en) / invalid fields (per field, id + en)",
    "429": "Terlalu banyak permintaan / too many requests",
    "503": "Layanan sementara tidak tersedia / temporarily unavailable",
}
WITH_BODY: dict[str, str] = {
    "413": "Isi terlalu besar / body too large",
    "415": "Jenis isi tidak didukung / unsupported media type",
}
WITH_AUTH: dict[str, str] = {
    "401": "Token tidak ada atau tidak sah / missing or invalid token",
    "403": "Tidak berwenang / forbidden",
}
WITH_STATE: dict[str, str] = {"409": "Bertentangan dengan keadaan saat ini / conflict"}
UNSAFE = {"post", "put", "patch", "delete"}
INTERNAL = ("/healthz", "/readyz", "/metrics")


def document_problems(app: FastAPI, *, authenticated: Callable[[str], bool]) -> None:
    """Complete the app's OpenAPI document on first use. `authenticated(path)` says whether an
    operation needs a staff token (the public tracking page does not)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            complete(generate(), authenticated)
        return generate()  # cached by FastAPI: the completed document

    app.openapi = openapi  # type: ignore[method-assign]


def complete(document: dict[str, Any], authenticated: Callable[[str], bool]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    for path, item in document.get("paths", {}).items():
        if path.startswith(INTERNAL):
            continue
        for method, operation in item.items():
            if method not in UNSAFE | {"get", "head"}:
                continue
            errors = dict(ALWAYS)
            if "requestBody" in operation:
                errors |= WITH_BODY
            if authenticated(path):
                errors |= WITH_AUTH
            if method in UNSAFE:
                errors |= WITH_STATE
            _declare(operation.setdefault("responses", {}), errors)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def _declare(responses: dict[str, Any], errors: dict[str, str]) -> None:
    for status, description in errors.items():
        response = responses.setdefault(status, {"description": description})
        # A route may have declared the status with JSON (or nothing): the body is a Problem.
        response["content"] = {MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}
        if not response.get("description"):
            response["description"] = description
