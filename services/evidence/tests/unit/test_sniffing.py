"""The type of a file comes from its content; names and declared types may only agree."""

from __future__ import annotations

import pytest

from services.evidence.tests import samples
from sipuma.evidence.domain import default_kind
from sipuma.evidence.sniffing import Unsupported, identify
from sipuma.shared.payloads import EvidenceKind

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("name", sorted(samples.ACCEPTED))
def test_each_accepted_sample_is_recognised_with_and_without_its_name(name: str) -> None:
    data, kind, declared, filename = samples.ACCEPTED[name]
    found = identify(data, declared, filename, complete=True)
    assert EvidenceKind(kind) in found.kinds
    assert found.answers_to(declared.split(";")[0])
    bare = identify(data, None, None, complete=True)
    assert bare.families & found.families


@pytest.mark.parametrize(
    ("data", "declared", "filename", "code"),
    [
        (samples.html(), "application/pdf", "bukti.pdf", "unsupported_type"),
        (samples.html(), None, "bukti.txt", "unsupported_type"),
        (samples.png(), None, "video.mp4", "extension_mismatch"),
        (samples.png(), "video/mp4", None, "type_mismatch"),
        (samples.pdf(), "image/png", "x.pdf", "type_mismatch"),
        (samples.plain_zip(), None, "laporan.docx", "unsupported_type"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200), None, "foto.jpg", "unsupported_type"),
        (b"\x00\x01\x02\x03binary\xff\xfe", None, None, "unsupported_type"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "text/plain", "a.txt", "unsupported_type"),
        (b"<!-- hi --><svg onload='alert(1)'/>", "text/plain", "a.txt", "unsupported_type"),
        (b"\xef\xbb\xbf  \n<p>halo</p>", None, "a.txt", "unsupported_type"),
        (b"catatan\n\n<script>alert(1)</script>", None, "a.txt", "unsupported_type"),
    ],
)
def test_hostile_or_contradicting_files_are_refused(
    data: bytes, declared: str | None, filename: str | None, code: str
) -> None:
    with pytest.raises(Unsupported) as refused:
        identify(data, declared, filename, complete=True)
    assert refused.value.code == code


def test_octet_stream_contradicts_nothing() -> None:
    assert identify(samples.mp4(), "application/octet-stream", None).label == "MP4"


def test_ambiguous_signatures_follow_the_name() -> None:
    assert identify(samples.doc(), None, "a.xls").label == "XLS"
    assert identify(samples.doc(), None, "a.doc").label == "DOC"
    assert identify(samples.m4a(), None, None).label == "M4A"
    assert identify(samples.mov(), None, None).label == "MOV"


def test_text_cut_in_the_middle_of_a_character_is_still_text() -> None:
    head = ("é" * 40).encode()[:-1]
    assert identify(head, None, "a.txt", complete=False).label == "TXT"
    with pytest.raises(Unsupported):
        identify(head, None, "a.txt", complete=True)


def test_default_kinds() -> None:
    assert default_kind(identify(samples.jpeg(), None, None)) is EvidenceKind.PHOTO
    assert default_kind(identify(samples.pdf(), None, None)) is EvidenceKind.SOFT_COPY
    assert default_kind(identify(samples.mp4(), None, None)) is EvidenceKind.VIDEO
    assert default_kind(identify(samples.wav(), None, None)) is EvidenceKind.SOUND
