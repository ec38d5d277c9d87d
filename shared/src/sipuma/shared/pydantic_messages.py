"""Indonesian text for pydantic's own error types (missing, too long, wrong type, ...).

Our rules (`rules.py`) bring both languages themselves; this covers everything pydantic checks
on its own so a 422 is Indonesian first for every field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_DATE = "Harus berupa tanggal (YYYY-MM-DD)."
_DATETIME = "Harus berupa waktu ISO 8601 dengan zona waktu, mis. 2026-01-31T09:30:00+07:00."
_INT = "Harus berupa bilangan bulat."
_OBJECT = "Harus berupa objek JSON."

TEMPLATES: dict[str, str] = {
    "missing": "Wajib diisi.",
    "extra_forbidden": "Isian ini tidak dikenal.",
    "string_type": "Harus berupa teks.",
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
    "uuid_type": "Harus berupa UUID.",
    "uuid_parsing": "Harus berupa UUID.",
    "list_type": "Harus berupa daftar (array).",
    "too_short": "Terlalu sedikit (minimal {min_length}).",
    "too_long": "Terlalu banyak (maksimal {max_length}).",
    "dict_type": _OBJECT,
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "union_tag_invalid": "Jenis {tag} tidak dikenal; pilih salah satu dari: {expected_tags}.",
    "union_tag_not_found": "Isian {discriminator} wajib diisi.",
    "json_invalid": "Isi permintaan bukan JSON yang valid.",
    "json_type": "Isi permintaan bukan JSON yang valid.",
    "url_parsing": "Harus berupa URL.",
    "value_error": "Nilai tidak valid.",
}


def indonesian(error_type: str, ctx: Mapping[str, Any], english: str) -> str:
    template = TEMPLATES.get(error_type)
    if template is None:
        return f"Nilai tidak valid ({english})."
    try:
        return template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        return template.split("{")[0].rstrip(" :(") + "."
