from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from sipuma.shared.auth import (
    AuthError,
    ClaimMap,
    JwksKeys,
    KeysNotCached,
    Principal,
    Role,
    TokenVerifier,
    bearer_principal,
    install_auth_handler,
    mint_token,
)

pytestmark = pytest.mark.unit
SECRET = "unit-test-secret-0123456789abcdef"


def test_round_trip_carries_officer_office_and_roles() -> None:
    token = mint_token(SECRET, "198001012005011001", "KPPBC-TMP-AMBON", [Role.RECEIVER])
    principal = TokenVerifier(SECRET).verify(token)
    assert principal.officer_id == "198001012005011001"
    assert principal.office_code == "KPPBC-TMP-AMBON"
    assert principal.has(Role.RECEIVER)
    assert not principal.has(Role.SUPERVISOR)
    assert principal.may_act_for("KPPBC-TMP-AMBON")
    assert not principal.may_act_for("KPPBC-TMP-BATAM")


@pytest.mark.parametrize(
    "token",
    [
        mint_token("another-secret-0123456789abcdefgh", "o", "X", [Role.RECEIVER]),
        mint_token(SECRET, "o", "X", [Role.RECEIVER], ttl_seconds=-10),
        mint_token(SECRET, "o", "X", [Role.RECEIVER], audience="other"),
        jwt.encode(
            {
                "sub": "o",
                "office": "X",
                "roles": ["admin"],
                "iss": "sipuma",
                "aud": "sipuma",
                "exp": int(time.time()) + 60,
            },
            SECRET,
            algorithm="HS256",
        ),
        jwt.encode({"sub": "o", "office": "X", "roles": ["receiver"]}, SECRET, algorithm="HS256"),
        "not-a-jwt",
    ],
    ids=["wrong-key", "expired", "wrong-audience", "unknown-role", "missing-claims", "garbage"],
)
def test_untrusted_tokens_are_refused(token: str) -> None:
    with pytest.raises(AuthError) as info:
        TokenVerifier(SECRET).verify(token)
    assert getattr(info.value, "code", "") == "token_invalid"


def test_dependency_answers_401_problem_in_both_languages() -> None:
    app = FastAPI()
    install_auth_handler(app)
    current = bearer_principal(TokenVerifier(SECRET))

    @app.get("/me")
    async def me(principal: Principal = Depends(current)) -> dict[str, str]:  # noqa: B008
        return {"office": principal.office_code}

    client = TestClient(app)
    missing = client.get("/me")
    assert missing.status_code == 401
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["messages"]["id"].startswith("Token akses")
    assert client.get("/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    token = mint_token(SECRET, "o", "KPPBC-TMP-BATAM", ["receiver"])
    ok = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert ok.json() == {"office": "KPPBC-TMP-BATAM"}


# ------------------------------------------------- provider keys: inline when cached (issue 15)


class _Keys(JwksKeys):
    """The provider's JWKS without a provider: `_fetch` installs one generated RSA key."""

    def __init__(self, jwk: jwt.PyJWK) -> None:
        super().__init__("https://idp.test/realms/sipuma", min_refresh_seconds=3600)
        self._jwk = jwk

    def _fetch(self) -> None:
        self._keys = {"k1": self._jwk}
        self._fetched_at = time.monotonic()
        self.fetches += 1


@dataclass(frozen=True)
class _ThreadNoting(ClaimMap):
    """Notes on which thread each token was checked."""

    threads: list[int] = field(default_factory=list)

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        self.threads.append(threading.get_ident())
        return super().principal(claims)


def _provider_token(private_key: Any, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "sub": "o",
        "nip": "198001012005011001",
        "office": "KPPBC-TMP-AMBON",
        "roles": ["receiver"],
        "iss": "https://idp.test/realms/sipuma",
        "aud": "sipuma",
        "iat": now,
        "exp": now + 300,
    } | claims
    return jwt.encode(body, private_key, algorithm="RS256", headers={"kid": "k1"})


def test_a_cached_provider_key_is_checked_on_the_loop_a_miss_off_it() -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    keys = _Keys(jwt.PyJWK(public | {"kid": "k1", "use": "sig", "alg": "RS256"}))
    claims = _ThreadNoting()
    verifier = TokenVerifier(oidc_issuer="https://idp.test/realms/sipuma", keys=keys, claims=claims)
    token = _provider_token(private_key)
    with pytest.raises(KeysNotCached):  # nothing cached yet: the JWKS must be read first
        verifier.verify_cached(token)

    app = FastAPI()
    install_auth_handler(app)
    current = bearer_principal(verifier)
    loop_threads: list[int] = []

    @app.get("/me")
    async def me(principal: Principal = Depends(current)) -> dict[str, str]:  # noqa: B008
        loop_threads.append(threading.get_ident())
        return {"office": principal.office_code}

    client = TestClient(app)
    later = _provider_token(private_key, jti="second")  # another token: no verified-token hit
    for each in (token, later):
        answer = client.get("/me", headers={"Authorization": f"Bearer {each}"})
        assert answer.json() == {"office": "KPPBC-TMP-AMBON"}
    assert keys.fetches == 1
    # The miss read the JWKS on a worker thread; the cached key was used on the loop's thread.
    assert claims.threads[0] != loop_threads[0]
    assert claims.threads[1] == loop_threads[1]

    # Inline is as strict: expiry, audience, issuer and signature still refuse.
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for bad in (
        _provider_token(private_key, exp=int(time.time()) - 10),
        _provider_token(private_key, aud="other"),
        _provider_token(private_key, iss="https://evil.test/realms/sipuma"),
        _provider_token(other_key),
    ):
        with pytest.raises(AuthError):
            verifier.verify_cached(bad)
        answer = client.get("/me", headers={"Authorization": f"Bearer {bad}"})
        assert answer.status_code == 401
    assert keys.fetches == 1


def test_a_verified_token_is_checked_once_until_it_expires_or_its_key_goes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    keys = _Keys(jwt.PyJWK(public | {"kid": "k1", "use": "sig", "alg": "RS256"}))
    claims = _ThreadNoting()
    verifier = TokenVerifier(oidc_issuer="https://idp.test/realms/sipuma", keys=keys, claims=claims)
    token = _provider_token(private_key)
    verifier.verify(token)
    verifier.verify_cached(token)
    verifier.verify(token)
    assert len(claims.threads) == 1  # checked once, then known

    # Expiry is rechecked on every use: past it (this clock; PyJWT reads its own, which says
    # the token is still good), the entry no longer answers and the whole check runs again.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)
    verifier.verify_cached(token)
    monkeypatch.setattr(time, "time", real_time)
    assert len(claims.threads) == 2

    # The JWKS read again (rotation, or the cache's age): the entry ends with its key object.
    keys._jwk = jwt.PyJWK(public | {"kid": "k1", "use": "sig", "alg": "RS256"})
    keys._fetch()
    verifier.verify_cached(token)
    verifier.verify_cached(token)
    assert len(claims.threads) == 3

    # The development secret's tokens are known the same way.
    dev = TokenVerifier(SECRET, claims=claims)
    mine = mint_token(SECRET, "o", "KPPBC-TMP-BATAM", [Role.RECEIVER])
    dev.verify(mine)
    dev.verify(mine)
    assert len(claims.threads) == 4
    # A token refused once is refused again (nothing is kept of it).
    other = mint_token("another-secret-0123456789abcdefgh", "o", "X", [Role.RECEIVER])
    for _ in range(2):
        with pytest.raises(AuthError):
            dev.verify(other)
