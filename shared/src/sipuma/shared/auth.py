"""Officer tokens: signed JWTs carrying officer id, office code and roles.

Every HTTP API for staff uses the same scheme, so verification lives here; which role may do what
is each service's business.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import jwt
from fastapi import Request
from fastapi.responses import JSONResponse

if TYPE_CHECKING:
    from sipuma.shared.settings import StaffApiSettings

ALGORITHM = "HS256"


class Role(StrEnum):
    RECEIVER = "receiver"  # Penerima Pengaduan
    COMPLIANCE = "compliance"  # staf UKI
    SUPERVISOR = "supervisor"  # sees every office


@dataclass(frozen=True)
class Principal:
    officer_id: str
    office_code: str
    roles: frozenset[Role]

    def has(self, role: Role) -> bool:
        return role in self.roles

    def may_act_for(self, office_code: str) -> bool:
        return self.office_code == office_code or Role.SUPERVISOR in self.roles


@dataclass(frozen=True)
class AuthError(Exception):
    """A token that cannot be trusted. `code` is stable, the messages are for people."""

    code: str
    id: str
    en: str


MISSING = AuthError(
    "token_missing",
    "Token akses (Authorization: Bearer) wajib disertakan.",
    "An access token (Authorization: Bearer) is required.",
)
INVALID = AuthError(
    "token_invalid",
    "Token akses tidak sah atau sudah kedaluwarsa.",
    "The access token is invalid or has expired.",
)


def mint_token(
    secret: str,
    officer_id: str,
    office_code: str,
    roles: Iterable[Role | str],
    *,
    ttl_seconds: int = 8 * 3600,
    issuer: str = "sipuma",
    audience: str = "sipuma",
) -> str:
    now = int(time.time())
    claims = {
        "sub": officer_id,
        "office": office_code,
        "roles": sorted(Role(r).value for r in roles),
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


class TokenVerifier:
    def __init__(self, secret: str, issuer: str = "sipuma", audience: str = "sipuma") -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience

    @classmethod
    def from_settings(cls, settings: StaffApiSettings) -> TokenVerifier:
        """The one way a service builds its verifier: secret, issuer and audience alike."""
        return cls(
            settings.token_secret.get_secret_value(),
            settings.token_issuer,
            settings.token_audience,
        )

    def verify(self, token: str) -> Principal:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["sub", "office", "roles", "exp", "iss", "aud"]},
            )
            roles = frozenset(Role(r) for r in claims["roles"])
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise INVALID from exc
        return Principal(str(claims["sub"]), str(claims["office"]), roles)

    def verify_header(self, authorization: str | None) -> Principal:
        if not authorization:
            raise MISSING
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise MISSING
        return self.verify(token.strip())


def auth_problem(error: AuthError, status: int = 401, instance: str | None = None) -> JSONResponse:
    """RFC 9457 answer for a failed authentication or authorisation, in both languages."""
    body: dict[str, Any] = {
        "type": f"urn:sipuma:problem:{error.code}",
        "title": error.en,
        "status": status,
        "detail": error.id,
        "code": error.code,
        "messages": {"id": error.id, "en": error.en},
    }
    if instance:
        body["instance"] = instance
    headers = {"WWW-Authenticate": 'Bearer realm="sipuma"'} if status == 401 else None
    return JSONResponse(
        body, status_code=status, headers=headers, media_type="application/problem+json"
    )


class AuthProblem(Exception):
    """Raised by the dependency; the handler from `install_auth_handler` turns it into 401/403."""

    def __init__(self, error: AuthError, status: int) -> None:
        super().__init__(error.code)
        self.error = error
        self.status = status


def bearer_principal(verifier: TokenVerifier) -> Callable[[Request], Awaitable[Principal]]:
    """FastAPI dependency: the calling officer, or a 401 problem answer."""

    async def dependency(request: Request) -> Principal:
        try:
            return verifier.verify_header(request.headers.get("authorization"))
        except AuthError as error:
            raise AuthProblem(error, 401) from None

    return dependency


def forbidden(id_text: str, en_text: str, code: str = "forbidden") -> AuthProblem:
    """A 403 to raise from a route, e.g. an officer acting for another office."""
    return AuthProblem(AuthError(code, id_text, en_text), 403)


def install_auth_handler(app: Any) -> None:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AuthProblem)
        return auth_problem(exc.error, exc.status, instance=request.url.path)

    app.add_exception_handler(AuthProblem, handle)
