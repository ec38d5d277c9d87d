"""File names are metadata only, sanitised; object keys come from the server."""

from __future__ import annotations

import pytest

from sipuma.evidence.domain import ACCEPTED, MAX_NAME, object_key, sanitise_filename

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
