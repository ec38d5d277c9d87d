"""Console routes: the officer pages under `/konsol`, the public tracking page `/lacak`, and
the development-only sign-in that mints a token. `mount_console` is the one entry point."""

# No `from __future__ import annotations`: FastAPI reads the route signatures at import.

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from sipuma.intake.console.oidc import mount_oidc
from sipuma.intake.console.pages import STATIC, Pages
from sipuma.intake.console.settings import ConsoleSettings
from sipuma.intake.domain import CompletenessRule
from sipuma.intake.settings import IntakeSettings
from sipuma.shared.auth import Role, mint_token
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.problems import InvalidParam as Param
from sipuma.shared.problems import Messages, ProblemError, render, unprocessable

PREFIX = "/konsol"
TRACK_PATH = "/lacak"
UUID_RE = re.compile(r"^[0-9a-fA-F-]{36}$")


class LocalLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    officer_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    office_code: str = Field(min_length=1, max_length=64)
    roles: list[Role] = Field(default_factory=lambda: [Role.RECEIVER], min_length=1)


LOCAL_REFUSED = ProblemError(
    403,
    "local_login_refused",
    "Masuk lokal hanya tersedia dalam mode pengembangan (SIPUMA_ENVIRONMENT=development).",
    "Local sign-in is only available in development mode (SIPUMA_ENVIRONMENT=development).",
)


def mount_console(
    app: FastAPI,
    settings: IntakeSettings,
    console: ConsoleSettings | None = None,
    *,
    offices: OfficeDirectory | None = None,
) -> None:
    """Add the console pages, their static files and `/lacak` to intake's app.

    `console` defaults to `ConsoleSettings()` (`SIPUMA_CONSOLE_*` variables), `offices` to the
    offices file of `settings`."""
    console = console or ConsoleSettings()
    offices = OfficeDirectory.load(settings.offices_file) if offices is None else offices
    local_login = settings.is_development and console.local_login
    pages = Pages(
        console,
        offices,
        PREFIX,
        dev=local_login,
        received_max_age_days=settings.received_at_max_age_days,
    )
    dev_secret = settings.dev_token_secret()

    mount_oidc(app, console, PREFIX, development=settings.is_development)

    @app.get(PREFIX, include_in_schema=False, name="console_home")
    async def console_home() -> Response:
        return RedirectResponse(f"{PREFIX}/daftar", status_code=303)

    @app.get(f"{PREFIX}/masuk", include_in_schema=False)
    async def sign_in_page(request: Request) -> Response:
        return pages.render(request, "signin.html", "signin")

    @app.get(f"{PREFIX}/baru", include_in_schema=False)
    async def new_complaint_page(request: Request) -> Response:
        # The contact pair's labels follow the completeness rule the API applies.
        strict = settings.completeness_rule is CompletenessRule.STRICT
        return pages.render(request, "form.html", "form", strict_contact=strict)

    @app.get(f"{PREFIX}/daftar", include_in_schema=False)
    async def list_page(request: Request) -> Response:
        return pages.render(request, "list.html", "list")

    @app.get(f"{PREFIX}/statistik", include_in_schema=False)
    async def statistics_page(request: Request) -> Response:
        return pages.render(request, "statistics.html", "statistics")

    @app.get(f"{PREFIX}/staf", include_in_schema=False)
    async def staff_page(request: Request) -> Response:
        return pages.render(request, "staff.html", "staff")

    @app.get(f"{PREFIX}/pengaduan/{{complaint_id}}", include_in_schema=False)
    async def complaint_page(request: Request, complaint_id: str) -> Response:
        if not UUID_RE.match(complaint_id):
            return RedirectResponse(f"{PREFIX}/daftar", status_code=303)
        return pages.render(
            request, "complaint.html", "complaint", complaint_id=complaint_id.lower()
        )

    @app.get(f"{PREFIX}/audit", include_in_schema=False)
    async def audit_page(request: Request) -> Response:
        return pages.render(request, "audit.html", "audit")

    @app.get(TRACK_PATH, include_in_schema=False)
    async def tracking_page(request: Request) -> Response:
        return pages.render(request, "track.html", "track")

    @app.post(
        f"{PREFIX}/masuk-lokal",
        tags=["konsol · console"],
        summary="Token uji (khusus pengembangan) · Test token (development only)",
        responses={403: {"description": "Not in development mode"}},
    )
    async def local_sign_in(body: LocalLogin, request: Request) -> Any:
        if not local_login or dev_secret is None:
            return render(LOCAL_REFUSED, request)
        if offices.get(body.office_code) is None:
            param = Param(
                name="office_code",
                code="unknown_office",
                reason="Kode kantor tidak dikenal.",
                messages=Messages(id="Kode kantor tidak dikenal.", en="Unknown office code."),
            )
            return render(unprocessable([param]), request)
        token = mint_token(
            dev_secret.get_secret_value(),
            body.officer_id,
            body.office_code,
            body.roles,
            ttl_seconds=console.local_login_ttl_s,
            issuer=settings.token_issuer,
            audience=settings.token_audience,
        )
        return JSONResponse({"token": token}, headers={"Cache-Control": "no-store"})

    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
