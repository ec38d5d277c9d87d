"""Our own Indonesian and English text for pydantic's error types (missing, too long, wrong
type, ...).

Our rules (`rules.py`) bring both languages themselves; this covers everything pydantic checks
on its own, so a 422 reads the same in both languages for every field instead of pydantic's raw
wording ("Input should be a valid date or datetime, input is too short").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_DATE = "Harus berupa tanggal (YYYY-MM-DD)."
_DATETIME = "Harus berupa waktu ISO 8601 dengan zona waktu, mis. 2026-01-31T09:30:00+07:00."
_INT = "Harus berupa bilangan bulat."
_OBJECT = "Harus berupa objek JSON."
_UUID = "Harus berupa UUID."
_JSON = "Isi permintaan bukan JSON yang valid."

TEMPLATES: dict[str, str] = {
    "missing": "Wajib diisi.",
    "extra_forbidden": "Isian ini tidak dikenal.",
    "string_type": "Harus berupa teks.",
    "string_unicode": "Teks memuat karakter yang tidak sah.",
    "string_too_short": "Terlalu pendek (minimal {min_length} karakter).",
    "string_too_long": "Terlalu panjang (maksimal {max_length} karakter).",
    "string_pattern_mismatch": "Formatnya tidak sesuai.",
    "int_type": _INT,
    "int_parsing": _INT,
    "int_from_float": _INT,
    "float_type": "Harus berupa angka.",
    "float_parsing": "Harus berupa angka.",
    "bool_type": "Harus bernilai true atau false.",
    "bool_parsing": "Harus bernilai true atau false.",
    "greater_than": "Harus lebih besar dari {gt}.",
    "greater_than_equal": "Paling kecil {ge}.",
    "less_than": "Harus lebih kecil dari {lt}.",
    "less_than_equal": "Paling besar {le}.",
    "enum": "Harus salah satu dari: {expected}.",
    "literal_error": "Harus salah satu dari: {expected}.",
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "datetime_type": _DATETIME,
    "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "timezone_aware": "Waktu harus mencantumkan zona waktu, mis. +07:00 (WIB).",
    "uuid_type": _UUID,
    "uuid_parsing": _UUID,
    "uuid_version": _UUID,
    "list_type": "Harus berupa daftar (array).",
    "too_short": "Terlalu sedikit (minimal {min_length}).",
    "too_long": "Terlalu banyak (maksimal {max_length}).",
    "dict_type": _OBJECT,
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "union_tag_invalid": "Jenis {tag} tidak dikenal; pilih salah satu dari: {expected_tags}.",
    "union_tag_not_found": "Isian {discriminator} wajib diisi.",
    "json_invalid": _JSON,
    "json_type": _JSON,
    "url_parsing": "Harus berupa URL.",
    "value_error": "Nilai tidak valid.",
}

_DATE_EN = "Must be a date (YYYY-MM-DD)."
_DATETIME_EN = "Must be an ISO 8601 time with a time zone, e.g. 2026-01-31T09:30:00+07:00."
_INT_EN = "Must be a whole number."
_OBJECT_EN = "Must be a JSON object."
_UUID_EN = "Must be a UUID."
_JSON_EN = "The request body is not valid JSON."
_BOOL_EN = "Must be true or false."
_NUMBER_EN = "Must be a number."

ENGLISH: dict[str, str] = {
    "missing": "Required.",
    "extra_forbidden": "This field is not known.",
    "string_type": "Must be text.",
    "string_unicode": "The text contains characters that are not allowed.",
    "string_too_short": "Too short (at least {min_length} characters).",
    "string_too_long": "Too long (at most {max_length} characters).",
    "string_pattern_mismatch": "The format does not match.",
    "int_type": _INT_EN,
    "int_parsing": _INT_EN,
    "int_from_float": _INT_EN,
    "float_type": _NUMBER_EN,
    "float_parsing": _NUMBER_EN,
    "bool_type": _BOOL_EN,
    "bool_parsing": _BOOL_EN,
    "greater_than": "Must be greater than {gt}.",
    "greater_than_equal": "At least {ge}.",
    "less_than": "Must be less than {lt}.",
    "less_than_equal": "At most {le}.",
    "enum": "Must be one of: {expected}.",
    "literal_error": "Must be one of: {expected}.",
    "date_type": _DATE_EN,
    "date_parsing": _DATE_EN,
    "date_from_datetime_parsing": _DATE_EN,
    "date_from_datetime_inexact": _DATE_EN,
    "datetime_type": _DATETIME_EN,
    "datetime_parsing": _DATETIME_EN,
    "datetime_from_date_parsing": _DATETIME_EN,
    "timezone_aware": "The time must include a time zone, e.g. +07:00 (WIB).",
    "uuid_type": _UUID_EN,
    "uuid_parsing": _UUID_EN,
    "uuid_version": _UUID_EN,
    "list_type": "Must be a list (array).",
    "too_short": "Too few (at least {min_length}).",
    "too_long": "Too many (at most {max_length}).",
    "dict_type": _OBJECT_EN,
    "model_type": _OBJECT_EN,
    "model_attributes_type": _OBJECT_EN,
    "union_tag_invalid": "Unknown kind {tag}; choose one of: {expected_tags}.",
    "union_tag_not_found": "The field {discriminator} is required.",
    "json_invalid": _JSON_EN,
    "json_type": _JSON_EN,
    "url_parsing": "Must be a URL.",
    "value_error": "The value is not valid.",
}
_FALLBACK = ("Nilai tidak valid.", "The value is not valid.")


_WITH_PLACEHOLDER = re.compile(r"\s*\([^()]*\{[^}]*\}[^()]*\)")


def _fill(template: str, ctx: Mapping[str, Any]) -> str:
    try:
        return template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        # Context missing: drop the part that needs it rather than show a bare placeholder.
        text = _WITH_PLACEHOLDER.sub("", template).split("{")[0].rstrip(" :;.")
        return text + "."


def indonesian(error_type: str, ctx: Mapping[str, Any], english: str = "") -> str:
    """Our Indonesian text for a pydantic error type (`english`, pydantic's own message, is
    accepted for older callers and no longer shown: it is not our wording)."""
    template = TEMPLATES.get(error_type)
    if template is None:
        return _FALLBACK[0]
    # pydantic joins the last two choices with an English "or" ('told' or 'unreachable').
    local = {k: _in_indonesian(v) if k.startswith("expected") else v for k, v in ctx.items()}
    return _fill(template, local)


def _in_indonesian(choices: Any) -> Any:
    return choices.replace("' or '", "' atau '") if isinstance(choices, str) else choices


def english(error_type: str, ctx: Mapping[str, Any]) -> str:
    """Our English text for a pydantic error type, never pydantic's raw wording."""
    template = ENGLISH.get(error_type)
    return _FALLBACK[1] if template is None else _fill(template, ctx)
