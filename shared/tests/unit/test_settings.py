"""Settings: SIPUMA_* variables, built on demand, no default secrets outside development."""

from __future__ import annotations

import os

import pytest
from pydantic import SecretStr, ValidationError

from sipuma.shared.settings import ServiceSettings, StaffApiSettings

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("SIPUMA_")]:
        monkeypatch.delenv(name)


class StoreSettings(StaffApiSettings):
    service: str = "evidence"
    s3_secret_key: SecretStr = SecretStr("sipuma-dev-secret")


def test_reads_sipuma_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIPUMA_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("SIPUMA_TOPIC_PARTITIONS", "12")
    monkeypatch.setenv("SIPUMA_HTTP_PORT", "8003")
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "ignored:1")
    settings = ServiceSettings()
    assert settings.kafka_bootstrap == "kafka:9092"
    assert settings.topic_partitions == 12
    assert settings.http_port == 8003
    assert settings.environment == "development"


def test_defaults() -> None:
    settings = ServiceSettings()
    assert (settings.topic_partitions, settings.topic_replication_factor) == (6, 1)
    assert settings.http_host == "127.0.0.1"


def test_development_accepts_dev_secrets() -> None:
    assert StoreSettings(environment="development").is_development


@pytest.mark.parametrize("environment", ["test", "production"])
def test_default_secrets_are_refused_outside_development(environment: str) -> None:
    with pytest.raises(ValidationError) as info:
        StoreSettings(environment=environment)
    message = str(info.value)
    # One message names everything: the default MinIO key and the missing provider.
    assert "SIPUMA_S3_SECRET_KEY" in message and "SIPUMA_OIDC_ISSUER" in message
    assert "sipuma-dev-secret" not in message  # the value itself is never echoed


@pytest.mark.parametrize("weak", ["", "changeme", "secret", "dev-only-anything", "minioadmin"])
def test_known_weak_values_are_refused(weak: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIPUMA_ENVIRONMENT", "production")
    monkeypatch.setenv("SIPUMA_OIDC_ISSUER", "https://sso.example.go.id/realms/djbc")
    monkeypatch.setenv("SIPUMA_S3_SECRET_KEY", weak)
    with pytest.raises(ValidationError, match="SIPUMA_S3_SECRET_KEY"):
        StoreSettings()


@pytest.mark.parametrize("secret", ["dev-only-sipuma-token", "k8s-secret-7f3a9c2e1b4d6f8a0c2e4f6a"])
def test_any_signing_secret_is_refused_in_production(
    secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside development no service holds a token signing secret, weak or strong."""
    monkeypatch.setenv("SIPUMA_ENVIRONMENT", "production")
    monkeypatch.setenv("SIPUMA_OIDC_ISSUER", "https://sso.example.go.id/realms/djbc")
    monkeypatch.setenv("SIPUMA_S3_SECRET_KEY", "a-real-secret-from-the-vault-123")
    monkeypatch.setenv("SIPUMA_TOKEN_SECRET", secret)
    with pytest.raises(ValidationError, match="SIPUMA_TOKEN_SECRET") as info:
        StoreSettings()
    assert secret not in str(info.value)


def test_production_refuses_no_issuer_and_symmetric_algorithms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIPUMA_ENVIRONMENT", "production")
    monkeypatch.setenv("SIPUMA_S3_SECRET_KEY", "a-real-secret-from-the-vault-123")
    with pytest.raises(ValidationError, match="SIPUMA_OIDC_ISSUER"):
        StoreSettings()
    monkeypatch.setenv("SIPUMA_OIDC_ISSUER", "https://sso.example.go.id/realms/djbc")
    monkeypatch.setenv("SIPUMA_TOKEN_ALGORITHMS", '["RS256", "HS256"]')
    with pytest.raises(ValidationError, match="asymmetric"):
        StoreSettings()


def test_real_settings_pass_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIPUMA_ENVIRONMENT", "production")
    monkeypatch.setenv("SIPUMA_OIDC_ISSUER", "https://sso.example.go.id/realms/djbc")
    monkeypatch.setenv("SIPUMA_S3_SECRET_KEY", "a-real-secret-from-the-vault-123")
    settings = StoreSettings()
    assert settings.environment == "production"
    assert settings.dev_token_secret() is None
    assert "vault" not in repr(settings)


def test_settings_are_frozen() -> None:
    settings = ServiceSettings()
    with pytest.raises(ValidationError):
        settings.http_port = 1  # type: ignore[misc]


def test_isolation_prefix_names_topics_and_the_consumer_group() -> None:
    from sipuma.shared import topics

    plain = ServiceSettings(consumer_group="registry")
    isolated = ServiceSettings(topic_prefix="t-abc.", consumer_group="registry")
    assert plain.topic(topics.COMPLAINT_RECEIVED) == topics.COMPLAINT_RECEIVED.name
    assert plain.group_id == "registry"
    assert isolated.topic(topics.COMPLAINT_RECEIVED) == "t-abc." + topics.COMPLAINT_RECEIVED.name
    assert isolated.topic("sipuma.x.v1") == "t-abc.sipuma.x.v1"
    # A test's consumers never join the running stack's group.
    assert isolated.group_id == "t-abc.registry"


def test_token_verifier_takes_issuer_and_audience_from_settings() -> None:
    from sipuma.shared.auth import AuthError, Role, TokenVerifier, mint_token

    settings = StaffApiSettings(token_issuer="djbc-sso", token_audience="sipuma-registry")
    dev = settings.dev_token_secret()
    assert dev is not None
    secret = dev.get_secret_value()
    verifier = TokenVerifier.from_settings(settings)
    good = mint_token(
        secret,
        "1990",
        "KPUBC-TPK-TJPRIOK",
        (Role.RECEIVER,),
        issuer="djbc-sso",
        audience="sipuma-registry",
    )
    assert verifier.verify(good).officer_id == "1990"
    with pytest.raises(AuthError):
        verifier.verify(mint_token(secret, "1990", "KPUBC-TPK-TJPRIOK", (Role.RECEIVER,)))
