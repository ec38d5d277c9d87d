"""Intake's refusals and rule violations as the shared RFC 9457 answer
(`sipuma.shared.problems`), so every SIPUMA API speaks one problem format: each kind of refusal
is one status, a violation is an entry of `invalid-params` with name, code and both languages.

pydantic's own errors are put in the API's words before the shared handler renders them: the
field as the API names it (`elements.when.date`, not pydantic's `elements.when.date.date`, which
repeats the variant's tag; `complaint_id`, not `path.complaint_id`) and our own English text
instead of pydantic's raw wording.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from sipuma.intake.domain import (
    ComplaintUnknown,
    Invalid,
    NotAllowed,
    NotReadyYet,
    Refused,
    Violation,
)
from sipuma.shared.problems import InvalidParam, Messages, ProblemError, render, unprocessable
from sipuma.shared.pydantic_messages import english

# Discriminated unions of the request models: field name → the tags pydantic adds to the path.
_TAGGED = {"when": frozenset({"date", "period", "approximate"})}
_SOURCES = frozenset({"path", "query", "header"})


_STATUS: dict[type[Refused], int] = {NotAllowed: 403, ComplaintUnknown: 404, NotReadyYet: 503}


def refused(refusal: Refused) -> ProblemError:
    status = _STATUS[type(refusal)]
    headers = {"Retry-After": "2"} if status == 503 else None
    return ProblemError(status, refusal.code, refusal.id, refusal.en, headers=headers)


def invalid(violations: Sequence[Violation]) -> ProblemError:
    return unprocessable(
        [
            InvalidParam(
                name=v.field, code=v.rule, reason=v.id, messages=Messages(id=v.id, en=v.en)
            )
            for v in violations
        ]
    )


def api_location(loc: Sequence[int | str]) -> tuple[int | str, ...]:
    """pydantic's error location as the API names the field."""
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    out: list[int | str] = []
    for index, part in enumerate(parts):
        previous = parts[index - 1] if index else None
        tags = _TAGGED.get(previous) if isinstance(previous, str) else None
        last = index == len(parts) - 1
        if tags and part in tags and not last:
            continue  # the variant's tag; the field inside it follows
        out.append(part)
    return tuple(out)


def in_api_words(errors: Sequence[Any]) -> list[dict[str, Any]]:
    found = []
    for error in errors:
        error = dict(error)
        error["loc"] = api_location(error.get("loc", ()))
        ctx = error.get("ctx") or {}
        if "rule" not in ctx:  # our rules bring their own texts
            error["msg"] = english(str(error.get("type", "")), ctx)
        found.append(error)
    return found


def install_domain_problems(app: FastAPI) -> None:
    """Refusals and violations raised by the use cases, as problems (after the shared handlers,
    which `install_http_plumbing` installs), and pydantic's errors in the API's words."""

    async def on_refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return render(refused(exc), request)

    async def on_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Invalid)
        return render(invalid(exc.violations), request)

    app.add_exception_handler(Refused, on_refused)
    app.add_exception_handler(Invalid, on_invalid)
    _install_field_names(app)


def _install_field_names(app: FastAPI) -> None:
    """Wrap the shared 422 handler (install it first) so it renders errors in the API's words."""
    shared = app.exception_handlers[RequestValidationError]

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        answer = shared(request, RequestValidationError(in_api_words(exc.errors())))
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(RequestValidationError, on_validation)
