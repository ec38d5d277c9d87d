"""Every 415/422 names the field in the API's own words, Indonesian and English, and never
echoes what the client sent."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.evidence.tests import samples
from services.evidence.tests.support import SECRET, auth
from sipuma.evidence import problems as pr
from sipuma.evidence.domain import (
    ComplaintFull,
    DatabaseUnavailable,
    EmptyFile,
    EvidenceError,
    FileTooLarge,
    ForbiddenOffice,
    ForbiddenRole,
    KeyReused,
    KindMismatch,
    StorageUnavailable,
    SupervisorsOnly,
    UnknownComplaint,
    UnknownEvidence,
)
from sipuma.evidence.main import build
from sipuma.evidence.settings import EvidenceSettings
from sipuma.evidence.sniffing import Unsupported, identify

pytestmark = pytest.mark.unit

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(200)


def _refusal(
    data: bytes, declared: str | None = None, filename: str | None = None
) -> dict[str, Any]:
    with pytest.raises(Unsupported) as refused:
        identify(data, declared, filename, complete=True)
    error = refused.value
    problem = pr.unsupported(error.code, error.detected, error.category).problem()
    return problem.model_dump(by_alias=True, exclude_none=True)


@pytest.mark.parametrize(
    ("data", "id_start", "en_start"),
    [
        (
            EXE,
            "berkas: program yang dapat dijalankan tidak diterima.",
            "file: executable programs are not accepted.",
        ),
        (b"\x7fELF\x02\x01\x01" + bytes(100), "berkas: program", "file: executable programs"),
        (
            samples.plain_zip(),
            "berkas: arsip (ZIP, RAR, 7z, …)",
            "file: archives (ZIP, RAR, 7z, …)",
        ),
        (b"Rar!\x1a\x07\x00" + bytes(100), "berkas: arsip", "file: archives"),
        (samples.html(), "berkas: halaman web dan markah", "file: web pages and markup"),
        (
            b"GIF89a" + bytes(100),
            "berkas: jenis berkas ini (image/gif)",
            "file: this file type (image/gif)",
        ),
        (
            b"\x00\x01\x02\x03binary\xff\xfe",
            "berkas: jenis berkas tidak dikenali",
            "file: the file type is not recognised",
        ),
    ],
)
def test_a_refused_file_is_described_in_words_an_officer_knows(
    data: bytes, id_start: str, en_start: str
) -> None:
    body = _refusal(data)
    assert body["status"] == 415 and body["code"] == "unsupported_type"
    assert body["messages"]["id"].startswith(id_start)
    assert body["messages"]["en"].startswith(en_start)
    assert (
        "Yang diterima: PDF" in body["messages"]["id"] and "Accepted: PDF" in body["messages"]["en"]
    )
    assert body["invalid-params"][0]["name"] == "body"
    assert "zap" not in str(body)


def test_contradicting_name_and_type_name_their_field_and_never_echo_the_input() -> None:
    named = _refusal(samples.png(), None, "budi@example.com.mp4")
    assert named["code"] == "extension_mismatch"
    assert named["messages"]["id"].startswith("nama berkas: ekstensinya tidak sesuai")
    assert (
        named["messages"]["en"]
        == "file name: its extension does not match the file's content (PNG)."
    )
    assert "budi" not in str(named)
    typed = _refusal(samples.png(), "video/mp4; name=budi@example.com", None)
    assert typed["code"] == "type_mismatch"
    assert typed["messages"]["en"].startswith("file content type (Content-Type): does not match")
    assert "budi" not in str(typed)


def test_kind_mismatch_and_empty_file_name_their_field() -> None:
    kind = pr.kind_mismatch("video", "PNG").problem()
    assert (
        kind.messages.id
        == "jenis data pendukung: berkas PNG tidak diterima sebagai data pendukung jenis 'video'."
    )
    assert (
        kind.messages.en == "evidence kind: a PNG file is not accepted as evidence of kind 'video'."
    )


@pytest.fixture(scope="module")
def client() -> TestClient:
    # No lifespan: nothing connects, and the request is refused before the use case.
    return TestClient(build(EvidenceSettings(token_secret=SECRET)).app)


@pytest.mark.parametrize(
    ("query", "headers", "name", "id_text", "en_text"),
    [
        (
            {"kind": "zzz"},
            {},
            "kind",
            "jenis data pendukung: harus salah satu dari: "
            "scan, soft_copy, photo, sound, video, other.",
            "evidence kind: must be one of: scan, soft_copy, photo, sound, video, other.",
        ),
        (
            {"filename": "budi@example.com " * 100},
            {},
            "filename",
            "nama berkas: terlalu panjang (maksimal 1000 karakter).",
            "file name: too long (at most 1000 characters).",
        ),
        (
            {},
            {"X-File-Name": "b" * 3001},
            "x-file-name",
            "nama berkas (X-File-Name): terlalu panjang (maksimal 3000 karakter).",
            "file name (X-File-Name): too long (at most 3000 characters).",
        ),
    ],
)
def test_request_validation_names_the_field_in_the_apis_words(
    client: TestClient,
    query: dict[str, str],
    headers: dict[str, str],
    name: str,
    id_text: str,
    en_text: str,
) -> None:
    answer = client.post(
        f"/v1/complaints/{uuid.uuid4()}/evidence",
        params=query,
        content=b"x",
        headers={**auth(), **headers},
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["messages"] == {"id": id_text, "en": en_text}
    assert [(p["name"], p["messages"]) for p in body["invalid-params"]] == [
        (name, {"id": id_text, "en": en_text})
    ]
    assert "budi" not in answer.text


def test_a_complaint_id_that_is_no_uuid_is_named(client: TestClient) -> None:
    answer = client.post("/v1/complaints/budi@example.com/evidence", content=b"x", headers=auth())
    assert answer.status_code == 422
    assert answer.json()["messages"]["en"] == "complaint: must be a UUID (e.g. 3f2a5c1e-…)."
    assert "budi" not in answer.text


def _refusals() -> list[type[EvidenceError]]:
    found, todo = [], [EvidenceError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


REFUSALS: dict[type[EvidenceError], tuple[EvidenceError, int, str]] = {
    ForbiddenRole: (ForbiddenRole(), 403, "forbidden_role"),
    SupervisorsOnly: (SupervisorsOnly(), 403, "forbidden_role"),
    ForbiddenOffice: (ForbiddenOffice(), 403, "forbidden_office"),
    UnknownComplaint: (UnknownComplaint(), 404, "complaint_unknown"),
    UnknownEvidence: (UnknownEvidence(), 404, "evidence_unknown"),
    EmptyFile: (EmptyFile(), 422, "empty_file"),
    FileTooLarge: (FileTooLarge(1024, "photo"), 413, "file_too_large"),
    ComplaintFull: (ComplaintFull(3, 1024), 413, "complaint_evidence_limit"),
    KindMismatch: (KindMismatch("video", "PNG"), 415, "kind_mismatch"),
    Unsupported: (Unsupported("unsupported_type"), 415, "unsupported_type"),
    StorageUnavailable: (StorageUnavailable("down"), 503, "storage_unavailable"),
    DatabaseUnavailable: (DatabaseUnavailable(), 503, "database_unavailable"),
    KeyReused: (KeyReused(), 409, "idempotency_key_reused"),
}


def test_every_refusal_of_the_use_cases_has_its_answer() -> None:
    assert set(_refusals()) == set(REFUSALS), "a new refusal needs its answer (and a row here)"
    for error, status, code in REFUSALS.values():
        problem = pr.problem_for(error).problem()
        assert (problem.status, problem.code) == (status, code)
        assert problem.messages.id and problem.messages.en
