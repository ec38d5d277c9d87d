from __future__ import annotations

import time

import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from sipuma.shared.auth import (
    AuthError,
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
