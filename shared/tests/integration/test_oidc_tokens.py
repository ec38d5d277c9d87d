"""Provider tokens from the real Keycloak (realm deploy/keycloak/sipuma-realm.json), verified
by `shared.auth.TokenVerifier` against the realm's JWKS: the officer's claims come through, and a
token of another issuer, an expired, a tampered one or one with an unknown key id is refused."""

from __future__ import annotations

import base64
import json
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from sipuma.shared.auth import AuthError, JwksKeys, Role, TokenVerifier
from sipuma.shared.settings import StaffApiSettings
from tests.harness.oidc import (
    OFFICER_PASSWORD,
    REALM_FILE,
    RECEIVER_MAKASSAR,
    RECEIVER_TJPRIOK,
    SUPERVISOR,
    TEST_CLIENT_SECRET,
    Oidc,
    _post_form,
)
from tests.harness.state import eventually_sync

pytestmark = pytest.mark.integration


def verifier_for(oidc: Oidc, **extra: Any) -> TokenVerifier:
    # Production mode: no development secret, only the provider.
    settings = StaffApiSettings(environment="production", oidc_issuer=oidc.issuer, **extra)
    return TokenVerifier.from_settings(settings)


def _segments(token: str) -> list[str]:
    return token.split(".")


def _encode(part: dict[str, Any]) -> str:
    raw = json.dumps(part, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(segment: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return found


def test_provider_tokens_carry_officer_office_and_roles(oidc: Oidc) -> None:
    verifier = verifier_for(oidc)
    who = verifier.verify(oidc.access_token(RECEIVER_TJPRIOK))
    assert (who.officer_id, who.office_code, who.roles) == (
        RECEIVER_TJPRIOK.username,
        "KPUBC-TPK-TJPRIOK",
        frozenset({Role.RECEIVER}),
    )
    both = verifier.verify(oidc.access_token(RECEIVER_MAKASSAR))
    assert both.roles == {Role.RECEIVER, Role.COMPLIANCE}
    assert not both.may_act_for("KPUBC-TPK-TJPRIOK")
    boss = verifier.verify(oidc.access_token(SUPERVISOR))
    assert boss.roles == {Role.SUPERVISOR} and boss.may_act_for("KPUBC-TPK-TJPRIOK")


def test_a_token_of_another_issuer_is_refused(oidc: Oidc) -> None:
    # The master realm's token, checked against the master realm's own keys: the signature is
    # good, the issuer is not ours.
    other = oidc.admin_token()
    assert _decode(_segments(other)[1])["iss"] != oidc.issuer
    verifier = verifier_for(oidc, oidc_jwks_url=oidc.jwks_url("master"))
    with pytest.raises(AuthError) as info:
        verifier.verify(other)
    assert info.value.code == "token_invalid"
    with pytest.raises(AuthError):  # and against our realm's keys: an unknown key id
        verifier_for(oidc).verify(other)


def test_a_tampered_token_is_refused(oidc: Oidc) -> None:
    token = oidc.access_token(RECEIVER_TJPRIOK)
    head, body, signature = _segments(token)
    claims = _decode(body) | {"office": "KPPBC-TMP-MAKASSAR", "roles": ["supervisor"]}
    verifier = verifier_for(oidc)
    assert verifier.verify(token).office_code == "KPUBC-TPK-TJPRIOK"
    for forged in (
        f"{head}.{_encode(claims)}.{signature}",  # claims changed, signature kept
        f"{head}.{body}.{signature[:-4]}AAAA",  # signature changed
        # algorithm confusion: HS256 "signed" with the public key is no development token here
        jwt.encode(claims, "public-key-as-secret-0123456789abcdef", algorithm="HS256"),
        f"{_encode({'alg': 'none', 'typ': 'JWT'})}.{_encode(claims)}.",
    ):
        with pytest.raises(AuthError):
            verifier.verify(forged)


def test_an_unknown_key_id_is_refused_and_refetches_at_most_once_per_interval(
    oidc: Oidc,
) -> None:
    keys = JwksKeys(oidc.issuer, min_refresh_seconds=3600)
    verifier = TokenVerifier(oidc_issuer=oidc.issuer, keys=keys)
    token = oidc.access_token(RECEIVER_TJPRIOK)
    verifier.verify(token)
    assert keys.fetches == 1
    head, body, signature = _segments(token)
    for n in range(5):
        rotated = _encode(_decode(head) | {"kid": f"rotated-away-{n}"})
        with pytest.raises(AuthError):
            verifier.verify(f"{rotated}.{body}.{signature}")
    # The JWKS was read once at start; forged key ids within the interval read it no more.
    assert keys.fetches == 1
    verifier.verify(token)


def test_an_expired_token_is_refused(oidc: Oidc) -> None:
    # The realm's `sipuma-tests-short` client issues tokens that live 2 s: the test reads the
    # verifier's answer until the token has expired (no sleep, no timed assertion).
    answer = _post_form(
        oidc.token_url(),
        {
            "grant_type": "password",
            "client_id": "sipuma-tests-short",
            "client_secret": TEST_CLIENT_SECRET,
            "username": RECEIVER_TJPRIOK.username,
            "password": OFFICER_PASSWORD,
        },
    )
    token = answer["access_token"]
    claims = _decode(_segments(token)[1])
    assert claims["exp"] - claims["iat"] <= 2
    verifier = verifier_for(oidc)

    def refused() -> bool:
        try:
            verifier.verify(token)
        except AuthError:
            return True
        return False

    eventually_sync("the short-lived token has expired", refused, timeout=60)


# ---------------------------------------------------------------- key rotation on the provider


def _admin(oidc: Oidc, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{oidc.base_url}/admin/realms{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {oidc.admin_token()}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        raw = answer.read()
    return json.loads(raw) if raw else None


@pytest.fixture
def scratch_realm(oidc: Oidc) -> Iterator[Oidc]:
    """A copy of the sipuma realm under its own name (so rotating its keys disturbs no other
    test), removed afterwards."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    realm = json.loads(REALM_FILE.read_text()) | {"realm": name}
    _admin(oidc, "POST", "", realm)
    try:
        yield Oidc(oidc.base_url, name)
    finally:
        _admin(oidc, "DELETE", f"/{name}")


def test_a_rotated_signing_key_is_fetched_once_and_trusted(scratch_realm: Oidc) -> None:
    oidc = scratch_realm
    keys = JwksKeys(oidc.issuer, min_refresh_seconds=0)
    verifier = TokenVerifier(oidc_issuer=oidc.issuer, keys=keys)
    before = oidc.access_token(RECEIVER_TJPRIOK)
    verifier.verify(before)
    realm_id = _admin(oidc, "GET", f"/{oidc.realm}")["id"]
    _admin(
        oidc,
        "POST",
        f"/{oidc.realm}/components",
        {
            "name": "rotated",
            "providerId": "rsa-generated",
            "providerType": "org.keycloak.keys.KeyProvider",
            "parentId": realm_id,
            "config": {"priority": ["500"], "algorithm": ["RS256"]},
        },
    )
    after = oidc.access_token(RECEIVER_TJPRIOK)
    assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]
    assert verifier.verify(after).officer_id == RECEIVER_TJPRIOK.username
    assert keys.fetches == 2  # the new key id made it read the JWKS once more
    verifier.verify(before)  # the old key is still published: its tokens stay good
