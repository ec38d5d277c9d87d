"""Officer tokens: signed JWTs carrying officer id, office code and roles.

Every HTTP API for staff uses the same scheme, so verification lives here; which role may do what
is each service's business.

Production tokens come from the OpenID Connect provider (Keycloak locally, docs/identity.md):
asymmetrically signed (RS256/ES256), checked against the provider's published keys (JWKS), so no
service holds a signing secret. The HS256 shared secret ("Masuk lokal", `make token`) is a
development shortcut: the verifier accepts it only when the settings say development.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import jwt
from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from sipuma.shared.settings import StaffApiSettings

ALGORITHM = "HS256"  # the development shortcut's algorithm
PROVIDER_ALGORITHMS = ("RS256", "ES256")


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
    """A development token (HS256). Carries the same claims as the provider's tokens."""
    now = int(time.time())
    claims = {
        "sub": officer_id,
        "nip": officer_id,
        "office": office_code,
        "roles": sorted(Role(r).value for r in roles),
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    """`a.b.c` walks nested objects, e.g. Keycloak's `realm_access.roles`."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


@dataclass(frozen=True)
class ClaimMap:
    """Which claims name the officer, the office and the roles (settings: SIPUMA_TOKEN_*_CLAIM).
    `role_names` maps the provider's role names to SIPUMA's; roles SIPUMA does not know (e.g.
    Keycloak's `offline_access`) are ignored; a token with no SIPUMA role at all is refused."""

    officer: str = "nip"
    office: str = "office"
    roles: str = "roles"
    role_names: Mapping[str, str] = field(default_factory=dict)

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        officer = _claim(claims, self.officer) or claims.get("sub")
        office = _claim(claims, self.office)
        if isinstance(office, list) and len(office) == 1:  # a multivalued attribute mapper
            office = office[0]
        raw = _claim(claims, self.roles)
        if not officer or not isinstance(office, str) or not office or not isinstance(raw, list):
            raise INVALID
        known = {r.value for r in Role}
        roles = frozenset(
            Role(name)
            for name in (self.role_names.get(str(r), str(r)) for r in raw)
            if name in known
        )
        if not roles:  # an account of the provider that is no SIPUMA officer
            raise INVALID
        return Principal(str(officer), office, roles)


class JwksKeys:
    """The provider's signing keys, fetched from its JWKS and cached. A token signed with a key id
    not in the cache triggers one refetch (key rotation), at most every `min_refresh_seconds`,
    so a stream of forged key ids cannot make the service hammer the provider."""

    def __init__(
        self,
        issuer: str,
        jwks_url: str = "",
        *,
        min_refresh_seconds: float = 30.0,
        max_age_seconds: float = 600.0,
        timeout_seconds: float = 5.0,
    ) -> None:
        self._issuer = issuer.rstrip("/")
        self._jwks_url = jwks_url
        self._min_refresh = min_refresh_seconds
        self._max_age = max_age_seconds
        self._timeout = timeout_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0  # how often the JWKS was read (tests, metrics)

    def _discover(self) -> str:
        url = f"{self._issuer}/.well-known/openid-configuration"
        with urllib.request.urlopen(url, timeout=self._timeout) as answer:  # noqa: S310 (config)
            return str(json.load(answer)["jwks_uri"])

    def _fetch(self) -> None:
        if not self._jwks_url:
            self._jwks_url = self._discover()
        client = jwt.PyJWKClient(self._jwks_url, cache_jwk_set=False, timeout=int(self._timeout))
        found = client.get_jwk_set()
        self._keys = {k.key_id: k for k in found.keys if k.key_id and k.public_key_use != "enc"}
        self._fetched_at = time.monotonic()
        self.fetches += 1

    def cached(self, kid: str) -> jwt.PyJWK | None:
        """The key when it is cached and fresh, without reading the JWKS (None otherwise): what
        lets a request check its token on the event loop. Reads without the lock: `_keys` is
        replaced whole, never changed in place."""
        fetched_at = self._fetched_at
        if fetched_at is None or time.monotonic() - fetched_at >= self._max_age:
            return None
        return self._keys.get(kid)

    def key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            now = time.monotonic()
            age = None if self._fetched_at is None else now - self._fetched_at
            stale = age is None or age >= self._max_age
            unknown = kid not in self._keys and (age is None or age >= self._min_refresh)
            if stale or unknown:
                try:
                    self._fetch()
                except (jwt.PyJWKClientError, OSError, ValueError, KeyError) as exc:
                    if not self._keys:
                        raise INVALID from exc  # provider unreachable and nothing cached
            found = self._keys.get(kid)
        if found is None:
            raise INVALID
        return found


@dataclass(frozen=True)
class _Verified:
    """A token that passed every check once: who it names, until when, with which key."""

    principal: Principal
    expires_at: float
    kid: str | None  # the provider's key id; None for the development secret
    key: Any


# Verified tokens kept per verifier (a bound, not a policy: an officer's console sends the same
# token with every request until it expires, so the signature check ran per request; issue 15).
VERIFIED_TOKENS_MAX = 4096


class KeysNotCached(Exception):
    """`TokenVerifier.verify_cached` would need the provider's JWKS: verify off the loop."""


class TokenVerifier:
    """Provider tokens (issuer `oidc_issuer`, keys from its JWKS) and, only when built with a
    `secret` (development), HS256 tokens from "Masuk lokal" / `make token`."""

    def __init__(
        self,
        secret: str | None = None,
        issuer: str = "sipuma",
        audience: str = "sipuma",
        *,
        oidc_issuer: str = "",
        keys: JwksKeys | None = None,
        claims: ClaimMap | None = None,
        algorithms: Iterable[str] = PROVIDER_ALGORITHMS,
        leeway_seconds: int = 0,
    ) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._oidc_issuer = oidc_issuer
        self._keys = keys if keys is not None or not oidc_issuer else JwksKeys(oidc_issuer)
        self._claims = claims or ClaimMap()
        self._algorithms = tuple(a for a in algorithms if a != ALGORITHM)
        self._leeway = leeway_seconds
        # Token → its checked principal. The same bytes always pass the same signature,
        # issuer and audience checks; only time changes the answer (expiry, rechecked on every
        # use) and so does the key set (an entry holds only while its key is still the cached
        # one: a refetched JWKS without it ends the entry).
        self._verified: dict[str, _Verified] = {}

    @classmethod
    def from_settings(cls, settings: StaffApiSettings) -> TokenVerifier:
        """The one way a service builds its verifier: provider, audience, claims alike."""
        keys = None
        if settings.oidc_issuer:
            keys = JwksKeys(
                settings.oidc_issuer,
                settings.oidc_jwks_url,
                min_refresh_seconds=settings.jwks_min_refresh_seconds,
            )
        dev = settings.dev_token_secret()
        return cls(
            dev.get_secret_value() if dev is not None else None,
            settings.token_issuer,
            settings.token_audience,
            oidc_issuer=settings.oidc_issuer,
            keys=keys,
            claims=ClaimMap(
                settings.token_officer_claim,
                settings.token_office_claim,
                settings.token_roles_claim,
                dict(settings.token_role_names),
            ),
            algorithms=settings.token_algorithms,
        )

    def verify(self, token: str) -> Principal:
        """May read the provider's JWKS over the network: call it off the event loop."""
        return self._verify(token, fetch=True)

    def verify_cached(self, token: str) -> Principal:
        """The same check as `verify` without any network read, so it may run on the event loop:
        raises `KeysNotCached` when the token's key would first have to be read from the JWKS
        (unknown key id, or the cache is older than its maximum age); call `verify` then."""
        return self._verify(token, fetch=False)

    def _verify(self, token: str, *, fetch: bool) -> Principal:
        known = self._verified.get(token)
        if known is not None and self._still_good(known):
            return known.principal
        try:
            header = jwt.get_unverified_header(token)
            alg = header.get("alg")
            if alg == ALGORITHM and self._secret is not None:
                key: Any = self._secret
                issuer = self._issuer
            elif alg in self._algorithms and self._keys is not None:
                kid = header.get("kid")
                if not isinstance(kid, str) or not kid:
                    raise INVALID
                key = self._keys.key(kid) if fetch else self._keys.cached(kid)
                if key is None:
                    raise KeysNotCached
                issuer = self._oidc_issuer
            else:
                raise INVALID
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                issuer=issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
            principal = self._claims.principal(claims)
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise INVALID from exc
        exp = claims["exp"]
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            if len(self._verified) >= VERIFIED_TOKENS_MAX:
                self._verified.clear()
            kid = None if alg == ALGORITHM else header.get("kid")
            self._verified[token] = _Verified(principal, float(exp), kid, key)
        return principal

    def _still_good(self, known: _Verified) -> bool:
        # PyJWT's own rule: expired once `exp <= now - leeway`.
        if known.expires_at <= time.time() - self._leeway:
            return False
        if known.kid is None:
            return True
        return self._keys is not None and self._keys.cached(known.kid) is known.key

    def verify_header(self, authorization: str | None, *, fetch: bool = True) -> Principal:
        """`verify` (or with `fetch=False`, `verify_cached`) of an Authorization header."""
        if not authorization:
            raise MISSING
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise MISSING
        return self._verify(token.strip(), fetch=fetch)


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
        authorization = request.headers.get("authorization")
        try:
            try:
                # On the loop when the key is cached (or the development secret signed it): a
                # hop to a worker thread per request cost intake ~5 % of its CPU (issue 15).
                return verifier.verify_header(authorization, fetch=False)
            except KeysNotCached:
                # Off the event loop: the verifier reads the JWKS (new key id, or stale cache).
                return await run_in_threadpool(verifier.verify_header, authorization)
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
