"""Complaint categories (kategori pengaduan): the controlled vocabulary compliance staff (UKI) or
a supervisor choose from after registration (a receiver does not classify: the SOP has the
receiver record what, who, when, where and how; analysing it is UKI's follow-up). Pure: loaded
once from a reviewed data file (`data/complaint_categories.json`, or
`SIPUMA_COMPLAINT_CATEGORIES_FILE`).

Codes are stable: events, statistics and the analytics tables carry them. A retired code can no
longer be chosen but keeps its label, so history and statistics still read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

# The statistics' key for complaints nobody has categorised yet (never a vocabulary code).
UNCATEGORISED = "uncategorised"
UNCATEGORISED_LABEL = ("Belum dikategorikan", "Uncategorised")
CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"


@dataclass(frozen=True)
class Category:
    code: str
    label_id: str
    label_en: str

    def out(self) -> dict[str, Any]:
        return {"code": self.code, "label": {"id": self.label_id, "en": self.label_en}}


class Categories:
    def __init__(self, choosable: list[Category], retired: list[Category] | None = None) -> None:
        known = [*choosable, *(retired or [])]
        codes = [c.code for c in known]
        if not choosable or len(set(codes)) != len(codes) or UNCATEGORISED in codes:
            raise ValueError("categories: at least one, unique codes, not 'uncategorised'")
        self.choosable = tuple(choosable)
        self._known = {c.code: c for c in known}

    @classmethod
    def load(cls, path: Path | None = None) -> Categories:
        text = (
            path.read_text(encoding="utf-8")
            if path
            else resources.files("sipuma.registry")
            .joinpath("data/complaint_categories.json")
            .read_text(encoding="utf-8")
        )
        data = json.loads(text)

        def read(items: list[dict[str, str]]) -> list[Category]:
            return [Category(i["code"], i["id"], i["en"]) for i in items]

        return cls(read(data["categories"]), read(data.get("retired") or []))

    def codes(self) -> list[str]:
        """What may be chosen now."""
        return [c.code for c in self.choosable]

    def may_choose(self, code: str) -> bool:
        return code in self.codes()

    def label(self, code: str | None) -> dict[str, str]:
        """Indonesian and English label; an unknown code (a list changed under old data) shows
        as itself rather than failing."""
        if code is None or code == UNCATEGORISED:
            return {"id": UNCATEGORISED_LABEL[0], "en": UNCATEGORISED_LABEL[1]}
        found = self._known.get(code)
        return {"id": found.label_id, "en": found.label_en} if found else {"id": code, "en": code}

    def labels(self) -> dict[str, dict[str, str]]:
        """Every known code's label, and the uncategorised one (statistics, the console)."""
        return {code: self.label(code) for code in [*self._known, UNCATEGORISED]}
