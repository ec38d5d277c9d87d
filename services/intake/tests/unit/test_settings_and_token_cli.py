"""Settings refuse the development token secret outside development; the token CLI mints a
receiver token that intake's verifier accepts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
    assert settings.received_at_max_age_days == 30
    assert settings.completeness_rule is CompletenessRule.SOP
    assert settings.spool_file == tmp_path / "intake" / "spool.sqlite3"
    assert settings.topic_complaint_received == "sipuma.complaint.received.v1"


def test_strict_rule_and_receipt_age_from_environment(monkeypatch) -> None:
    monkeypatch.setenv("SIPUMA_COMPLETENESS_RULE", "strict")
    monkeypatch.setenv("SIPUMA_RECEIVED_AT_MAX_AGE_DAYS", "90")
    settings = IntakeSettings()
    assert settings.completeness_rule is CompletenessRule.STRICT
    assert settings.received_at_max_age_days == 90


def test_default_secret_refused_in_production(monkeypatch) -> None:
    monkeypatch.setenv("SIPUMA_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="SIPUMA_OIDC_ISSUER"):
        IntakeSettings()
    monkeypatch.setenv("SIPUMA_OIDC_ISSUER", "https://sso.example.go.id/realms/djbc")
    monkeypatch.setenv("SIPUMA_TOKEN_SECRET", "dev-only-sipuma-token-secret-change-me")
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
    monkeypatch.setenv("SIPUMA_OIDC_ISSUER", "https://sso.example.go.id/realms/djbc")
    assert token_cli.main(["--officer", "1", "--office", "KPUBC-TPK-TJPRIOK"]) == 2


def test_cli_refuses_an_officer_id_no_event_could_carry(capsys) -> None:
    assert token_cli.main(["--officer", "Budi Santoso", "--office", "KPUBC-TPK-TJPRIOK"]) == 2
    assert "officer id" in capsys.readouterr().err


def test_the_console_script_runs_from_the_environment_it_is_installed_in(tmp_path) -> None:
    """`make token` runs `sipuma-intake-token` through uv; the script itself must work."""
    script = Path(sys.executable).parent / "sipuma-intake-token"
    secret = "cli-test-secret-0123456789abcdef0123"
    env = {
        "PATH": "/usr/bin:/bin",  # a fresh shell's PATH: the script finds its own interpreter
        "HOME": str(tmp_path),
        "SIPUMA_TOKEN_SECRET": secret,
    }
    done = subprocess.run(
        [str(script), "--officer", "198001", "--office", "KPUBC-TPK-TJPRIOK"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert TokenVerifier(secret).verify(done.stdout.strip()).office_code == "KPUBC-TPK-TJPRIOK"
