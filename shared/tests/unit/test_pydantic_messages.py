"""pydantic's error types in our own words, Indonesian and English, never pydantic's raw text."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import BaseModel, ValidationError

from sipuma.shared.pydantic_messages import ENGLISH, TEMPLATES, english, indonesian

pytestmark = pytest.mark.unit


def test_every_type_has_both_languages() -> None:
    assert set(TEMPLATES) == set(ENGLISH)
    for kind in TEMPLATES:
        assert TEMPLATES[kind] != ENGLISH[kind], kind


class _When(BaseModel):
    date: date
    count: int


@pytest.mark.parametrize(
    ("value", "en"),
    [
        ({"date": "20-11-2026", "count": 1}, "Must be a date (YYYY-MM-DD)."),
        ({"date": "2026-11-20", "count": "x"}, "Must be a whole number."),
        ({"count": 1}, "Required."),
    ],
)
def test_real_pydantic_errors_get_our_text(value: dict[str, object], en: str) -> None:
    with pytest.raises(ValidationError) as info:
        _When.model_validate(value)
    [error] = info.value.errors()
    ctx = error.get("ctx") or {}
    assert english(error["type"], ctx) == en
    assert english(error["type"], ctx) != error["msg"]
    assert indonesian(error["type"], ctx)


def test_context_is_filled_in_and_unknown_types_fall_back() -> None:
    assert english("string_too_long", {"max_length": 200}) == "Too long (at most 200 characters)."
    assert indonesian("string_too_long", {"max_length": 200}).endswith("200 karakter).")
    assert english("string_too_long", {}) == "Too long."  # context missing: no placeholder shown
    assert english("brand_new_type", {}) == "The value is not valid."
    assert indonesian("brand_new_type", {}) == "Nilai tidak valid."
