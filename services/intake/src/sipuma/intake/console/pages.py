"""Rendering: one Jinja2 environment, the page frame's context, and the security headers.

Pages are server-rendered shells (labels, fields, both languages); the data comes from the
services' HTTP APIs, called by the page's own script with the officer's token. No inline
script or style, so the Content-Security-Policy can forbid them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from sipuma.intake.console.settings import ConsoleSettings
from sipuma.intake.console.texts import LANGS, Lang, texts_for
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.payloads import Channel, CommunicationMethod, EvidenceKind

HERE = Path(__file__).parent
STATIC = HERE / "static"
LANG_COOKIE = "sipuma_lang"


def static_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def offices_for_browser(offices: OfficeDirectory) -> list[dict[str, str]]:
    now = datetime.now(UTC)
    found = []
    for office in offices.all():
        offset = now.astimezone(office.zone).strftime("%z")  # +0700
        found.append(
            {
                "code": office.code,
                "name": office.name,
                "zone": office.zone_label,
                "tz": office.timezone,
                "offset": f"{offset[:3]}:{offset[3:]}",
            }
        )
    return found


class Pages:
    def __init__(
        self,
        console: ConsoleSettings,
        offices: OfficeDirectory,
        prefix: str,
        dev: bool,
        received_max_age_days: int = 30,
    ) -> None:
        self.console = console
        self.oidc = bool(console.oidc_issuer)
        self.received_max_age_days = received_max_age_days
        self.prefix = prefix
        self.dev = dev
        self.offices = offices_for_browser(offices)
        self.version = static_version()
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=StrictUndefined,  # a missing text is an error, not a blank label
        )
        connect = " ".join(["'self'", *console.api_origins()])
        self.csp = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src {connect}; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'; object-src 'none'"
        )

    @staticmethod
    def language(request: Request) -> tuple[Lang, bool]:
        """The page language: ?lang= (remembered in a cookie), the cookie, else Indonesian."""
        asked = request.query_params.get("lang")
        for lang in LANGS:
            if asked == lang:
                return lang, True
        cookie = request.cookies.get(LANG_COOKIE)
        return next((lang for lang in LANGS if lang == cookie), "id"), False

    def render(self, request: Request, template: str, page: str, **extra: Any) -> HTMLResponse:
        lang, remember = self.language(request)
        texts = texts_for(lang)
        other: Lang = "en" if lang == "id" else "id"
        config = {
            "page": page,
            "lang": lang,
            "prefix": self.prefix,
            "api": {
                "intake": self.console.intake_url.rstrip("/"),
                "registry": self.console.registry_url.rstrip("/"),
                "evidence": self.console.evidence_url.rstrip("/"),
                "reports": (self.console.reports_url or self.console.registry_url).rstrip("/"),
            },
            "offices": self.offices,
            "received_max_age_days": self.received_max_age_days,
            "oidc": self.oidc,
            "texts": texts,
            **extra,
        }
        html = self.env.get_template(template).render(
            t=SimpleNamespace(**texts),  # t.copy must be the text, not dict.copy
            lang=lang,
            other_lang=other,
            prefix=self.prefix,
            page=page,
            path=request.url.path,
            version=self.version,
            dev=self.dev,
            oidc=self.oidc,
            offices=self.offices,
            channels=[c.value for c in Channel],
            methods=[m.value for m in CommunicationMethod],
            kinds=[k.value for k in EvidenceKind],
            config_json=json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
            **extra,
        )
        response = HTMLResponse(html, headers=self.headers())
        if remember:
            response.set_cookie(
                LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True
            )
        return response

    def headers(self) -> dict[str, str]:
        return {
            "Content-Security-Policy": self.csp,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-store",
        }
