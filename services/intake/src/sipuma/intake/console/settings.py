"""Console settings: `SIPUMA_CONSOLE_*` environment variables.

The browser calls the services' HTTP APIs itself, so these are the base URLs **as the browser
sees them** (an ingress path such as `/registry` works too, and then needs no CORS). Empty intake
URL = the same origin as the console, which is mounted inside intake.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIPUMA_CONSOLE_", extra="ignore", frozen=True)

    intake_url: str = Field("", description="Intake API base URL for the browser; '' = same origin")
    registry_url: str = Field("http://127.0.0.1:8002", description="Registry API, browser view")
    evidence_url: str = Field("http://127.0.0.1:8003", description="Evidence API, browser view")
    # The registry's read side (its `reports` role, registry README "Roles"): lists, search,
    # downloads, statistics. Empty: the registry URL (its `all` role answers these too).
    reports_url: str = Field("", description="Registry read side, browser view; '' = registry")
    local_login: bool = Field(
        True, description="Offer the development sign-in (refused anyway outside development)"
    )
    local_login_ttl_s: int = Field(8 * 3600, ge=60, le=24 * 3600)
    # Sign-in through the OpenID Connect provider (Authorization Code + PKCE, docs/identity.md).
    # Empty issuer: no provider button. The session cookie holds the refresh token, signed.
    oidc_issuer: str = ""
    # Where the server reads the provider's metadata when it reaches it under another name than
    # the browser (compose: keycloak:8080); default: the issuer's discovery document.
    oidc_metadata_url: str = ""
    oidc_client_id: str = "sipuma-console"
    oidc_client_secret: SecretStr | None = None
    session_secret: SecretStr = SecretStr("dev-only-sipuma-console-session-secret")

    def api_origins(self) -> list[str]:
        """Origins the Content-Security-Policy must let the pages connect to."""
        found = []
        for url in (self.intake_url, self.registry_url, self.evidence_url, self.reports_url):
            if url.startswith(("http://", "https://")):
                scheme, _, rest = url.partition("://")
                found.append(f"{scheme}://{rest.split('/', 1)[0]}")
        return sorted(set(found))
