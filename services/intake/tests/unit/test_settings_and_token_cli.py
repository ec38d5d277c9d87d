"""Settings refuse the development token secret outside development; the token CLI mints a
receiver token that intake's verifier accepts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sipuma.intake import token_cli
from sipuma.intake.domain import CompletenessRule
from sipuma.intake.settings import IntakeSettings
from sipuma.shared.auth import Role, TokenVerifier

pytestmark = pytest.mark.unit


def test_defaults(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SIPUMA_STATE_DIR", str(tmp_path))
    settings = IntakeSettings()
    assert settings.http_port == 8001
    assert settings.register_wait_s == 2.0
    assert settings.completeness_rule is CompletenessRule.SOP
    assert settings.spool_file == tmp_path / "intake" / "spool.sqlite3"
    assert settings.topic_complaint_received == "sipuma.complaint.received.v1"


def test_strict_rule_from_environment(monkeypatch) -> None:
    monkeypatch.setenv("SIPUMA_COMPLETENESS_RULE", "strict")
    assert IntakeSettings().completeness_rule is CompletenessRule.STRICT


def test_default_secret_refused_in_production(monkeypatch) -> None:
    monkeypatch.setenv("SIPUMA_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="SIPUMA_TOKEN_SECRET"):
        IntakeSettings()


def test_cli_mints_a_receiver_token(monkeypatch, capsys) -> None:
    secret = "cli-test-secret-0123456789abcdef0123"
    monkeypatch.setenv("SIPUMA_TOKEN_SECRET", secret)
    assert token_cli.main(["--officer", "198001", "--office", "KPUBC-TPK-TJPRIOK"]) == 0
    who = TokenVerifier(secret).verify(capsys.readouterr().out.strip())
    assert (who.officer_id, who.office_code, who.roles) == (
        "198001",
        "KPUBC-TPK-TJPRIOK",
        frozenset({Role.RECEIVER}),
    )


def test_cli_refuses_unknown_offices_and_production(monkeypatch, capsys) -> None:
    assert token_cli.main(["--officer", "1", "--office", "NOWHERE"]) == 2
    assert "Unknown office code" in capsys.readouterr().err
    monkeypatch.setenv("SIPUMA_ENVIRONMENT", "production")
    monkeypatch.setenv("SIPUMA_TOKEN_SECRET", "a-real-production-secret-0123456789abcdef")
    assert token_cli.main(["--officer", "1", "--office", "KPUBC-TPK-TJPRIOK"]) == 2
