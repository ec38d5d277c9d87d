"""A file name can carry personal data (a name, an e-mail, a phone number, a NIK): it reaches the
record and the object's metadata, and nothing else. The real `sipuma-evidence` process, JSON
logs at DEBUG, uploads whose names carry all four — percent-encoded in the query string and in
`X-File-Name`, accepted and refused — and then not one of them, in any spelling, in the log."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest

from services.evidence.tests import samples
from services.evidence.tests.support import (
    OFFICE,
    EvidenceProcess,
    auth,
    publish_registered,
    remove_everything,
    settings_for,
)
from sipuma.shared.topics import COMPLAINT_REGISTERED
from tests.harness.endpoints import Endpoints
from tests.harness.state import eventually

pytestmark = pytest.mark.integration

NAME = "Siti Rahmawati"
EMAIL = "siti.rahmawati@example.co.id"
PHONE = "081398765432"
NIK = "3174051203850007"
PLANTED = f"{NAME} {EMAIL} {PHONE} NIK {NIK}"


def spellings(secret: str) -> set[str]:
    """The ways a value can appear in a log: as is, percent-encoded (both forms), and lower."""
    return {secret, secret.lower(), quote(secret, safe=""), quote_plus(secret), quote(secret)}


async def test_file_names_with_personal_data_never_reach_the_log(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, f"ev-{uuid.uuid4().hex[:12]}", object_lock=False)
    service = EvidenceProcess(endpoints, settings, tmp_path / "evidence.log")
    answers: list[httpx.Response] = []
    try:
        await service.start()
        cid = await publish_registered(
            settings.kafka_bootstrap, settings.topic(COMPLAINT_REGISTERED), OFFICE
        )
        async with httpx.AsyncClient(base_url=service.base_url, timeout=60) as client:
            url = f"/v1/complaints/{cid}/evidence"

            async def known() -> bool:
                return (await client.get(url, headers=auth())).status_code == 200

            await eventually("complaint event consumed", known)
            pdf = {**auth(), "Content-Type": "application/pdf"}
            answers += [
                # accepted: the name in the query string (httpx percent-encodes it) ...
                await client.post(
                    url, params={"filename": f"{PLANTED}.pdf"}, content=samples.pdf(), headers=pdf
                ),
                # ... and in the header, percent-encoded as browsers send it
                await client.post(
                    url,
                    content=samples.pdf(),
                    headers={**pdf, "X-File-Name": quote(f"{PLANTED} (2).pdf", safe="")},
                ),
                # refused: the name contradicts the content, is too long, or the complaint unknown
                await client.post(
                    url, params={"filename": f"{PLANTED}.mp4"}, content=samples.pdf(), headers=pdf
                ),
                await client.post(
                    url, params={"filename": PLANTED * 40}, content=samples.pdf(), headers=pdf
                ),
                await client.post(
                    f"/v1/complaints/{uuid.uuid4()}/evidence",
                    params={"filename": f"{PLANTED}.pdf"},
                    content=samples.pdf(),
                    headers=pdf,
                ),
                await client.post(
                    url,
                    params={"filename": f"{PLANTED}.exe"},
                    content=b"MZ\x90\x00" + bytes(300),
                    headers=pdf,
                ),
            ]
            listed = await client.get(url, headers=auth())
    finally:
        await service.stop()
        await remove_everything(settings)

    assert [a.status_code for a in answers] == [201, 201, 415, 422, 404, 415]
    names = sorted(item["file_name"] for item in listed.json()["items"])
    assert names == sorted([f"{PLANTED}.pdf", f"{PLANTED} (2).pdf"]), "kept where it belongs"
    log = service.log_path.read_text()
    assert '"http_request"' in log and '"evidence_streamed"' in log, "the log was written"
    for secret in (NAME, EMAIL, PHONE, NIK, "Rahmawati", "siti.rahmawati"):
        found = [s for s in spellings(secret) if s in log]
        assert not found, f"{found} in evidence.log"
        for refused in answers[2:]:
            assert not [s for s in spellings(secret) if s in refused.text], refused.text
