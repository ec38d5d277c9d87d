"""Register-number format and follow-up status rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sipuma.registry.domain import (
    DEFAULT_NUMBER_FORMAT,
    Status,
    TransitionRefused,
    check_transition,
    format_register_number,
    validate_number_format,
)
from sipuma.registry.settings import RegistrySettings
from sipuma.shared.offices import OfficeDirectory

pytestmark = pytest.mark.unit


def test_default_register_number() -> None:
    number = format_register_number(DEFAULT_NUMBER_FORMAT, "KPPBC-TMP-BATAM", 2026, 123)
    assert number == "PGD/KPPBC-TMP-BATAM/2026/000123"


@pytest.mark.parametrize("template", ["{office}/{seq}", "{office}/{year}/{seq}/{x}", "{office"])
def test_a_format_must_name_office_year_and_seq(template: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        validate_number_format(template)


def test_format_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIPUMA_REGISTER_NUMBER_FORMAT", "{year}-{office}-{seq:05d}")
    assert RegistrySettings().register_number_format == "{year}-{office}-{seq:05d}"
    monkeypatch.setenv("SIPUMA_REGISTER_NUMBER_FORMAT", "{office}-{seq}")
    with pytest.raises(ValueError):  # noqa: PT011
        RegistrySettings()


def test_default_secrets_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIPUMA_ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="SIPUMA_TICKET_HASH_KEY"):
        RegistrySettings()


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (Status.REGISTERED, Status.VERIFIED),
        (Status.VERIFIED, Status.IN_FOLLOW_UP),
        (Status.IN_FOLLOW_UP, Status.CLOSED),
        (Status.REGISTERED, Status.FORWARDED),
        (Status.IN_FOLLOW_UP, Status.FORWARDED),
    ],
)
def test_allowed_transitions(current: Status, wanted: Status) -> None:
    check_transition(current, wanted)


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (Status.REGISTERED, Status.CLOSED),
        (Status.CLOSED, Status.VERIFIED),
        (Status.FORWARDED, Status.VERIFIED),
        (Status.VERIFIED, Status.VERIFIED),
    ],
)
def test_refused_transitions_explain_in_both_languages(current: Status, wanted: Status) -> None:
    with pytest.raises(TransitionRefused) as refused:
        check_transition(current, wanted)
    id_text, en_text = refused.value.messages
    assert "tidak dapat" in id_text and "cannot" in en_text


def test_register_year_follows_the_office_zone() -> None:
    offices = OfficeDirectory.default()
    moment = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 23:30 WIB, 00:30 WITA, 01:30 WIT
    assert offices.local_year("KPUBC-TPK-TJPRIOK", moment) == 2026
    assert offices.local_year("KPPBC-TMP-MAKASSAR", moment) == 2027
    assert offices.local_year("KPPBC-TMP-JAYAPURA", moment) == 2027
