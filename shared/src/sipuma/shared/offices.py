"""Offices are configuration: code, name, region and time zone (WIB, WITA, WIT).

Times are stored in UTC and shown, reported and numbered (the register year) in the office's
local time, so every service that needs a local date asks this directory.
"""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, field_validator

ZONES = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


class Office(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    name: str
    region: str
    timezone: str

    @field_validator("timezone")
    @classmethod
    def _indonesian_zone(cls, value: str) -> str:
        if value not in ZONES:
            raise ValueError(f"timezone must be one of {sorted(ZONES)}")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def zone_label(self) -> str:
        return ZONES[self.timezone]


class OfficeDirectory:
    def __init__(self, offices: list[Office]) -> None:
        self._by_code = {office.code: office for office in offices}

    @classmethod
    def from_file(cls, path: Path) -> OfficeDirectory:
        return cls.from_json(path.read_text(encoding="utf-8"))

    @classmethod
    def from_json(cls, text: str) -> OfficeDirectory:
        return cls([Office.model_validate(item) for item in json.loads(text)])

    @classmethod
    def default(cls) -> OfficeDirectory:
        """The offices shipped with the package; production points SIPUMA_OFFICES_FILE elsewhere."""
        text = resources.files("sipuma.shared").joinpath("offices.json").read_text("utf-8")
        return cls.from_json(text)

    @classmethod
    def load(cls, path: Path | None) -> OfficeDirectory:
        return cls.from_file(path) if path else cls.default()

    def get(self, code: str) -> Office | None:
        return self._by_code.get(code)

    def codes(self) -> list[str]:
        return sorted(self._by_code)

    def all(self) -> list[Office]:
        return [self._by_code[code] for code in self.codes()]

    def local_time(self, code: str, moment: datetime) -> datetime:
        office = self._by_code[code]
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware (UTC)")
        return moment.astimezone(office.zone)

    def local_year(self, code: str, moment: datetime) -> int:
        return self.local_time(code, moment).year
