"""The reviewed category list (kategori pengaduan): the shipped file loads, its codes are stable
and well-formed, "uncategorised" is reserved, a retired code keeps its label but is not offered."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sipuma.registry.categories import (
    CODE_PATTERN,
    UNCATEGORISED,
    Categories,
    Category,
)

pytestmark = pytest.mark.unit


def test_the_shipped_list() -> None:
    found = Categories.load()
    assert found.codes() == [
        "pelayanan",
        "kode-etik-disiplin",
        "gratifikasi-suap",
        "penyalahgunaan-wewenang",
        "benturan-kepentingan",
        "pungutan-liar",
        "lainnya",
    ]
    assert all(re.match(CODE_PATTERN, code) for code in found.codes())
    assert found.label("pungutan-liar") == {"id": "Pungutan liar (pungli)", "en": "Illegal levies"}
    assert (
        found.label(None)
        == found.label(UNCATEGORISED)
        == {
            "id": "Belum dikategorikan",
            "en": "Uncategorised",
        }
    )
    assert list(found.labels())[-1] == UNCATEGORISED


def test_refused_lists_and_retired_codes(tmp_path: Path) -> None:
    one = Category("a", "A", "A")
    with pytest.raises(ValueError, match="unique codes"):
        Categories([one, one])
    with pytest.raises(ValueError, match="unique codes"):
        Categories([Category(UNCATEGORISED, "x", "x")])
    with pytest.raises(ValueError, match="unique codes"):
        Categories([])
    path = tmp_path / "categories.json"
    path.write_text(
        json.dumps(
            {
                "categories": [{"code": "baru", "id": "Baru", "en": "New"}],
                "retired": [{"code": "lama", "id": "Lama", "en": "Old"}],
            }
        ),
        encoding="utf-8",
    )
    found = Categories.load(path)
    assert found.codes() == ["baru"] and not found.may_choose("lama")
    assert found.label("lama") == {"id": "Lama", "en": "Old"}  # history still reads
    assert found.label("unknown") == {"id": "unknown", "en": "unknown"}
