"""The console signs in through the real OpenID Connect provider (Keycloak) in Chromium:
Authorization Code + PKCE, shows who is signed in, refreshes, signs out at the provider too."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.stack import Stack
from tests.harness.oidc import OFFICER_PASSWORD, RECEIVER_TJPRIOK, SUPERVISOR, Oidc

pytestmark = pytest.mark.e2e


def test_sign_in_through_the_provider_refresh_and_sign_out(
    page: Page, console_stack: Stack, oidc: Oidc
) -> None:
    page.goto(f"{console_stack.console}/masuk")
    page.click("#oidc-signin")
    page.wait_for_url(f"{oidc.issuer}/**")  # the provider's own sign-in page
    assert "code_challenge_method=S256" in page.url and "code_challenge=" in page.url
    page.fill("#username", RECEIVER_TJPRIOK.username)
    page.fill("#password", OFFICER_PASSWORD)
    page.click("#kc-login")
    page.wait_for_url(f"{console_stack.console}/baru")  # a receiver's home page
    expect(page.locator("#who-text")).to_contain_text("Rina Penerima")
    expect(page.get_by_role("link", name="Audit identitas")).to_be_hidden()  # supervisors only
    assert "oidc=" not in page.url  # the token left the address bar
    token = page.evaluate("sessionStorage.getItem('sipuma_token')")
    issuer = page.evaluate(
        "(t) => JSON.parse(atob(t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).iss",
        token,
    )
    assert issuer == oidc.issuer

    refreshed = page.evaluate(
        "fetch('/konsol/oidc/segarkan', {method: 'POST'}).then(r => r.json())"
    )
    assert refreshed["token"].count(".") == 2 and refreshed["token"] != token

    page.click("#sign-out")
    page.wait_for_url(f"{console_stack.console}/masuk**")
    assert page.evaluate("sessionStorage.getItem('sipuma_token')") is None
    # The provider session ended too: signing in again asks for the password.
    page.click("#oidc-signin")
    page.wait_for_url(f"{oidc.issuer}/**")
    expect(page.locator("#password")).to_be_visible()


def test_a_supervisor_sees_the_identity_audit(page: Page, console_stack: Stack) -> None:
    """The audit page lists identity reads and checks the chain (the registry's audit API)."""
    page.goto(f"{console_stack.console}/masuk")
    page.click("#oidc-signin")
    page.fill("#username", SUPERVISOR.username)
    page.fill("#password", OFFICER_PASSWORD)
    page.click("#kc-login")
    page.wait_for_url(f"{console_stack.console}/daftar**")
    page.get_by_role("link", name="Audit identitas").click()  # the frame's menu entry
    page.wait_for_url(f"{console_stack.console}/audit")
    expect(page.locator("h1")).to_have_text("Audit akses identitas pengadu")
    page.click("#audit-verify")
    expect(page.locator("#audit-chain")).to_contain_text("Rantai audit utuh")
    # Evidence's download chain is checked too (its supervisors' audit API).
    expect(page.locator("#audit-chain")).to_contain_text("Unduhan data pendukung")
