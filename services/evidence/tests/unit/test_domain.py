"""File names are metadata only, sanitised; object keys come from the server."""

from __future__ import annotations

import pytest

from sipuma.evidence.domain import (
    ACCEPTED,
    MAX_NAME,
    evidence_id_for,
    object_key,
    sanitise_filename,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("/var/www/.htaccess", "htaccess"),
        ("foto\x00.jpg", "foto_.jpg"),
        ("laporan\r\nX-Injected: 1.pdf", "laporan_X-Injected_ 1.pdf"),
        ('a<b>c:"d"|e?.pdf', "a_b_c_d_e_.pdf"),
        ("Surat Pak I Gusti Ngurah Rai.pdf", "Surat Pak I Gusti Ngurah Rai.pdf"),
        ("Bukti – Pemeriksaan Tahap Ⅱ.pdf", "Bukti – Pemeriksaan Tahap Ⅱ.pdf"),
        ("..", None),
        ("", None),
        ("///", None),
        (None, None),
    ],
)
def test_file_names_are_sanitised(raw: str | None, kept: str | None) -> None:
    assert sanitise_filename(raw) == kept


def test_long_names_keep_their_extension() -> None:
    name = sanitise_filename("a" * 500 + ".pdf")
    assert name is not None
    assert len(name) <= MAX_NAME
    assert name.endswith(".pdf")


def test_object_keys_never_carry_client_text() -> None:
    assert object_key("c", "e") == "complaints/c/e"


def test_every_type_has_a_kind_and_an_extension() -> None:
    for ftype in ACCEPTED:
        assert ftype.kinds
        assert all(ext.startswith(".") for ext in ftype.extensions)


def test_the_evidence_id_follows_from_officer_complaint_and_key() -> None:
    """A retry on any replica derives the same id; another officer, complaint or key does not."""
    first = evidence_id_for("198001", "c-1", "k-1")
    assert first == evidence_id_for("198001", "c-1", "k-1")
    assert first.version == 5
    others = {
        evidence_id_for("198002", "c-1", "k-1"),
        evidence_id_for("198001", "c-2", "k-1"),
        evidence_id_for("198001", "c-1", "k-2"),
    }
    assert first not in others and len(others) == 3
