"""Console sign-in through the OpenID Connect provider: Authorization Code with PKCE (S256), by
Authlib's Starlette client (state, nonce, code verifier, ID token checks are Authlib's).

- `/konsol/oidc/masuk` sends the officer to the provider;
- `/konsol/oidc/kembali` takes the code, and hands the access token to the page in the URL
  fragment (never sent to a server, never in an access log); the page keeps it in
  sessionStorage like any other token and removes the fragment at once;
- `/konsol/oidc/segarkan` (POST) trades the refresh token, kept only in the signed, HttpOnly
  session cookie, for a new access token before the old one expires;
- `/konsol/oidc/keluar` forgets the session and signs out at the provider too.
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures at import.

from typing import Any
from urllib.parse import urlencode

from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.middleware.sessions import SessionMiddleware

from sipuma.intake.console.settings import ConsoleSettings
from sipuma.shared.settings import is_default_secret

SESSION_COOKIE = "sipuma_console_session"
NO_STORE = {"Cache-Control": "no-store"}


def mount_oidc(app: FastAPI, console: ConsoleSettings, prefix: str, *, development: bool) -> None:
    if not console.oidc_issuer:
        return
    if not development and is_default_secret(console.session_secret):
        raise ValueError("set SIPUMA_CONSOLE_SESSION_SECRET (the console's session cookie key)")
    app.add_middleware(
        SessionMiddleware,
        secret_key=console.session_secret.get_secret_value(),
        session_cookie=SESSION_COOKIE,
        same_site="lax",  # the provider's redirect back is a top-level GET
        https_only=not development,
        max_age=12 * 3600,
    )
    oauth = OAuth()
    secret = console.oidc_client_secret
    oauth.register(
        "provider",
        client_id=console.oidc_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        server_metadata_url=console.oidc_metadata_url
        or f"{console.oidc_issuer.rstrip('/')}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile", "code_challenge_method": "S256"},
    )
    provider: Any = oauth.create_client("provider")

    @app.get(f"{prefix}/oidc/masuk", include_in_schema=False)
    async def oidc_sign_in(request: Request) -> Response:
        back = str(request.url_for("console_oidc_back"))
        answer: Response = await provider.authorize_redirect(request, back)
        return answer

    @app.get(f"{prefix}/oidc/kembali", include_in_schema=False, name="console_oidc_back")
    async def oidc_back(request: Request) -> Response:
        try:
            token = await provider.authorize_access_token(request)
        except OAuthError:  # refused, replayed or forged: back to the sign-in page
            return RedirectResponse(f"{prefix}/masuk?why=oidc", status_code=303)
        request.session["refresh_token"] = token.get("refresh_token")
        request.session["id_token"] = token.get("id_token")
        fragment = f"#oidc={token['access_token']}"
        return RedirectResponse(f"{prefix}/masuk{fragment}", status_code=303, headers=NO_STORE)

    @app.post(f"{prefix}/oidc/segarkan", include_in_schema=False)
    async def oidc_refresh(request: Request) -> Response:
        refresh = request.session.get("refresh_token")
        if not refresh:
            return JSONResponse({"code": "no_session"}, status_code=401, headers=NO_STORE)
        try:
            token = await provider.fetch_access_token(
                grant_type="refresh_token", refresh_token=refresh
            )
        except OAuthError:
            request.session.clear()
            return JSONResponse({"code": "session_ended"}, status_code=401, headers=NO_STORE)
        request.session["refresh_token"] = token.get("refresh_token", refresh)
        return JSONResponse({"token": token["access_token"]}, headers=NO_STORE)

    @app.get(f"{prefix}/oidc/keluar", include_in_schema=False)
    async def oidc_sign_out(request: Request) -> Response:
        id_token = request.session.get("id_token")
        request.session.clear()
        metadata = await provider.load_server_metadata()
        end = metadata.get("end_session_endpoint")
        back = str(request.url_for("console_home")).rstrip("/") + "/masuk"
        if not end:
            return RedirectResponse(back, status_code=303)
        query = {"post_logout_redirect_uri": back, "client_id": console.oidc_client_id}
        if id_token:
            query["id_token_hint"] = id_token
        return RedirectResponse(f"{end}?{urlencode(query)}", status_code=303)
