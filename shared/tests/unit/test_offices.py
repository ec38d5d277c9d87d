from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sipuma.shared.offices import Office, OfficeDirectory

pytestmark = pytest.mark.unit


def test_register_year_follows_the_office_local_time() -> None:
    offices = OfficeDirectory.default()
    new_year_eve_utc = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 23:30 WIB, 00:30 WITA
    assert offices.local_year("KPUBC-TPK-TJPRIOK", new_year_eve_utc) == 2026
    assert offices.local_year("KPPBC-TMP-MAKASSAR", new_year_eve_utc) == 2027
    assert offices.local_year("KPPBC-TMP-JAYAPURA", new_year_eve_utc) == 2027


def test_all_three_indonesian_zones_are_configured() -> None:
    labels = {office.zone_label for office in OfficeDirectory.default().all()}
    assert labels == {"WIB", "WITA", "WIT"}


def test_unknown_zone_and_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Office(code="X", name="X", region="X", timezone="Europe/Paris")
    with pytest.raises(ValueError, match="aware"):
        OfficeDirectory.default().local_time("KPPBC-TMP-BATAM", datetime(2026, 1, 1))
    assert OfficeDirectory.default().get("NOPE") is None
