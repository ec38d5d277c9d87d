"""Settings base for every service: `SIPUMA_*` environment variables (12-factor).

Built once in a service's composition root (`Settings()`), never at import. Secrets are
`SecretStr` fields; outside development a secret that is empty, a known default or a dev-only
value is refused, so a forgotten variable stops the service instead of weakening it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sipuma.shared.identity_vault import DEV_MASTER_KEY as DEV_IDENTITY_MASTER_KEY
from sipuma.shared.identity_vault import IdentityKeySettings
from sipuma.shared.topics import DEFAULT_RETENTION_MS, TopicSpec, dead_letter_topic

DEV_SECRET_PREFIX = "dev-only-"  # noqa: S105 (a marker, not a secret)
DEV_TOKEN_SECRET = SecretStr(DEV_SECRET_PREFIX + "sipuma-token-secret-change-me")
KNOWN_DEFAULT_SECRETS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "changethis",
        "secret",
        "password",
        "admin",
        "minioadmin",
        "sipuma",
        "sipuma-dev",
        "sipuma-dev-secret",
        "test",
        "dev",
    }
)

Environment = Literal["development", "test", "production"]
LogFormat = Literal["auto", "json", "console"]


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIPUMA_", extra="ignore", frozen=True)

    service: str = Field("sipuma", pattern=r"^[a-z][a-z0-9-]{0,62}$")
    environment: Environment = "development"
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_partitions: int = Field(6, ge=1)
    topic_replication_factor: int = Field(1, ge=1)
    # Replicas that must have a write before it is acknowledged (acks=all); None: the broker's
    # default. Production and the 3-broker cluster: 2 of 3 (one broker may be down, none lost).
    topic_min_insync_replicas: int | None = Field(None, ge=1)
    topic_retention_ms: int = Field(DEFAULT_RETENTION_MS, ge=-1)
    consumer_retry_initial_seconds: float = Field(0.5, gt=0)
    consumer_retry_max_seconds: float = Field(30.0, gt=0)
    shutdown_grace_seconds: float = Field(25.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: LogFormat = "auto"
    # OpenTelemetry: an OTLP/HTTP collector's base URL (e.g. http://otel-collector:4318); empty:
    # no spans recorded or exported (trace context is still passed on). See shared/tracing.py.
    otel_endpoint: str = ""
    http_host: str = "127.0.0.1"  # containers set SIPUMA_HTTP_HOST=0.0.0.0
    http_port: int = Field(8000, ge=1, le=65535)
    # Prepended to every topic name (consumed, produced, dead letter) and to the consumer group:
    # isolates a test run (its consumers never join the running stack's group) and lets two
    # environments share one Kafka cluster. Empty in production.
    topic_prefix: str = Field("", pattern=r"^[a-z0-9._-]*$")
    # The service's consumer group before the prefix; empty for a service that joins none.
    consumer_group: str = Field("", pattern=r"^[a-z0-9._-]*$")
    # Addresses (or CIDRs) of reverse proxies whose X-Forwarded-For / -Proto may be believed, e.g.
    # the ingress. Empty (the default): forwarded headers are ignored and the peer address is
    # the client, so nobody can pick their own address to dodge a per-client limit.
    trusted_proxies: list[str] = []

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    def topic(self, topic: TopicSpec | str) -> str:
        """This deployment's name of a topic (the isolation prefix, then the contract name)."""
        return self.topic_prefix + (topic.name if isinstance(topic, TopicSpec) else topic)

    @property
    def group_id(self) -> str:
        """The consumer group this service joins: prefixed like its topics."""
        return self.topic_prefix + self.consumer_group

    def dead_letter_topic(self, group: str | None = None) -> str:
        """This deployment's dead-letter topic of a consumer group, named without the prefix
        (default: this service's): `<prefix>sipuma.dead-letter.<group>.v1`, inside the prefix
        like every other topic (ACLs and clean-up by prefix find it)."""
        return self.topic(dead_letter_topic(self.consumer_group if group is None else group))

    @model_validator(mode="after")
    def _no_default_secrets_outside_development(self) -> Self:
        if self.is_development:
            return self
        weak = [
            name
            for name in type(self).model_fields
            if isinstance(value := getattr(self, name), SecretStr) and is_default_secret(value)
        ]
        problems = self._production_problems()
        if weak:
            problems.insert(
                0,
                "set real values for " + ", ".join(f"SIPUMA_{n.upper()}" for n in sorted(weak)),
            )
        if problems:
            raise ValueError(f"environment is {self.environment}: " + "; ".join(problems))
        return self

    def _production_problems(self) -> list[str]:
        """What else keeps a non-development service from starting (one message for all)."""
        return []


class StoreSettings(ServiceSettings):
    """For services with a MongoDB-wire store (the local store, MongoDB, DocumentDB). The URI
    carries the service's own user, TLS and its CA file; each service names its database."""

    mongo_uri: str = "mongodb://127.0.0.1:27017/"
    mongo_database: str = Field("sipuma", pattern=r"^[A-Za-z0-9_-]{1,63}$")


class StaffApiSettings(ServiceSettings):
    """For services with an officer-facing HTTP API (tokens from `auth.py`).

    Tokens come from the OpenID Connect provider at `oidc_issuer` (its JWKS, found by discovery
    unless `oidc_jwks_url` is set). `token_secret` is the development shortcut (HS256): accepted
    only in development, where it defaults to a dev-only value; anywhere else setting it stops the
    service, and so does a missing issuer."""

    token_secret: SecretStr | None = None
    token_issuer: str = "sipuma"  # noqa: S105 - the development tokens' issuer, not a secret
    token_audience: str = "sipuma"  # noqa: S105
    oidc_issuer: str = ""  # e.g. http://127.0.0.1:18080/realms/sipuma
    oidc_jwks_url: str = ""
    token_algorithms: list[str] = ["RS256", "ES256"]
    # Where the provider puts officer id, office code and roles (dotted paths, e.g.
    # realm_access.roles), and how its role names map to SIPUMA's (JSON object).
    token_officer_claim: str = "nip"  # noqa: S105 - claim names, not secrets
    token_office_claim: str = "office"  # noqa: S105
    token_roles_claim: str = "roles"  # noqa: S105
    token_role_names: dict[str, str] = {}
    jwks_min_refresh_seconds: float = Field(30.0, ge=0)
    # Browser origins allowed to call this API directly (the officer console on another port).
    # Empty = no CORS; behind one ingress the console uses same-origin paths instead.
    cors_origins: list[str] = []

    def dev_token_secret(self) -> SecretStr | None:
        """The HS256 secret of the development shortcut; None outside development."""
        if not self.is_development:
            return None
        return self.token_secret or DEV_TOKEN_SECRET

    def _production_problems(self) -> list[str]:
        problems = super()._production_problems()
        if self.token_secret is not None:
            problems.append(
                "SIPUMA_TOKEN_SECRET is the development sign-in shortcut; remove it "
                "(tokens are verified against the provider's keys)"
            )
        if not self.oidc_issuer:
            problems.append("SIPUMA_OIDC_ISSUER (the OpenID Connect provider) is required")
        if any(a.upper().startswith("HS") or a.lower() == "none" for a in self.token_algorithms):
            problems.append("SIPUMA_TOKEN_ALGORITHMS may list only asymmetric algorithms")
        return problems


class IdentityAtRestSettings(ServiceSettings):
    """For services that store complainant identity: its KMS (shared.identity_vault). The
    dev-only master key is refused outside development like any default secret."""

    identity_encryption: bool = True
    identity_master_key: SecretStr = DEV_IDENTITY_MASTER_KEY
    identity_master_key_file: Path | None = None
    identity_kms_provider: str = Field("local", pattern=r"^(local|kmip|aws|gcp|azure)(:[\w-]+)?$")
    identity_kms_providers: SecretStr | None = None  # JSON credentials of a KMIP/cloud KMS
    identity_master_key_spec: dict[str, Any] = {}
    identity_key_vault_collection: str = "identity_keys"
    identity_key_cache_ms: int = Field(1000, ge=1)

    def identity_keys(self) -> IdentityKeySettings | None:
        if not self.identity_encryption:
            return None
        return IdentityKeySettings(
            master_key=self.identity_master_key,
            master_key_file=self.identity_master_key_file,
            kms_provider=self.identity_kms_provider,
            kms_providers=self.identity_kms_providers,
            master_key_spec=self.identity_master_key_spec,
            key_vault_collection=self.identity_key_vault_collection,
            key_cache_ms=self.identity_key_cache_ms,
        )

    def _production_problems(self) -> list[str]:
        problems = super()._production_problems()
        if not self.identity_encryption:
            problems.append("SIPUMA_IDENTITY_ENCRYPTION may be off only in development")
        return problems


def is_default_secret(secret: SecretStr) -> bool:
    value = secret.get_secret_value().strip()
    return value.lower() in KNOWN_DEFAULT_SECRETS or value.startswith(DEV_SECRET_PREFIX)
