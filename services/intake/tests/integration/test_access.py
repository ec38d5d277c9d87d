"""Access: a receiver's bearer token on every endpoint, own office only; 401/403 explained in
Indonesian and English, and nothing published."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from services.intake.tests.support import (
    OTHER_OFFICE,
    SECRET,
    auth,
    complaint,
)
from tests.harness.state import read_to_end

pytestmark = pytest.mark.integration

ENDPOINTS = [
    ("POST", "supplements", {"kind": "addition", "text": "Ada saksi lain di lokasi."}),
    ("POST", "reported-employees", {"employees": [{"name": "Budi"}]}),
    ("PUT", "tracking-contact", {"email": "ayu@example.co.id"}),
    ("POST", "register-number-communication", {"outcome": "told", "method": "in_person"}),
    ("GET", "status", None),
]


def _expired() -> dict[str, str]:
    now = int(time.time())
    claims = {
        "sub": "1",
        "office": "KPUBC-TPK-TJPRIOK",
        "roles": ["receiver"],
        "iss": "sipuma",
        "aud": "sipuma",
        "iat": now - 100,
        "exp": now - 10,
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


async def test_401_without_or_with_bad_token(client, settings) -> None:
    forged = {
        "Authorization": "Bearer "
        + jwt.encode({"sub": "1"}, "another-secret-0123456789abcdef-0123", algorithm="HS256")
    }
    for headers, code in (
        ({}, "token_missing"),
        ({"Authorization": "Basic abc"}, "token_missing"),
        (forged, "token_invalid"),
        (_expired(), "token_invalid"),
    ):
        answer = await client.post("/v1/complaints", json=complaint(), headers=headers)
        assert answer.status_code == 401, answer.text
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert problem["code"] == code
        assert problem["messages"]["id"] and problem["messages"]["en"]
        any_id = uuid.uuid4()
        for method, path, body in ENDPOINTS:
            other = await client.request(
                method, f"/v1/complaints/{any_id}/{path}", json=body, headers=headers
            )
            assert other.status_code == 401, (path, other.text)
    assert await read_to_end(settings.kafka_bootstrap, settings.topic_complaint_received) == []


async def test_403_for_other_roles_and_other_offices(client, settings) -> None:
    compliance = await client.post(
        "/v1/complaints", json=complaint(), headers=auth(roles=("compliance",))
    )
    assert compliance.status_code == 403
    assert compliance.json()["code"] == "receiver_role_required"
    assert "Penerima Pengaduan" in compliance.json()["messages"]["id"]

    supervisor = await client.post(
        "/v1/complaints",
        json=complaint(office_code=OTHER_OFFICE),
        headers=auth(roles=("receiver", "supervisor")),
    )
    assert supervisor.status_code == 403
    assert supervisor.json()["code"] == "other_office"

    other = await client.post(
        "/v1/complaints", json=complaint(office_code=OTHER_OFFICE), headers=auth()
    )
    assert other.status_code == 403
    assert "kantor Anda sendiri" in other.json()["messages"]["id"]
    assert other.json()["messages"]["en"].startswith("You may record")

    mine = await client.post("/v1/complaints", json=complaint(), headers=auth())
    assert mine.status_code == 201
    cid = mine.json()["complaint_id"]
    for method, path, body in ENDPOINTS:
        foreign = await client.request(
            method, f"/v1/complaints/{cid}/{path}", json=body, headers=auth(OTHER_OFFICE)
        )
        assert foreign.status_code == 403, (path, foreign.text)
        assert foreign.json()["code"] == "other_office"
        role = await client.request(
            method, f"/v1/complaints/{cid}/{path}", json=body, headers=auth(roles=("compliance",))
        )
        assert role.status_code == 403, (path, role.text)

    received = await read_to_end(settings.kafka_bootstrap, settings.topic_complaint_received)
    assert len(received) == 1  # only the complaint of the officer's own office
    for topic in (
        settings.topic_complaint_supplemented,
        settings.topic_contact_provided,
        settings.topic_register_number_communicated,
    ):
        assert await read_to_end(settings.kafka_bootstrap, topic) == []


async def test_404_for_unknown_complaints(client) -> None:
    for method, path, body in ENDPOINTS:
        answer = await client.request(
            method, f"/v1/complaints/{uuid.uuid4()}/{path}", json=body, headers=auth()
        )
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["code"] == "complaint_not_found"
    bad_id = await client.get("/v1/complaints/not-a-uuid/status", headers=auth())
    assert bad_id.status_code == 422
    [param] = bad_id.json()["invalid-params"]
    assert (param["name"], param["code"]) == ("complaint_id", "uuid_parsing")
    assert param["messages"] == {"id": "Harus berupa UUID.", "en": "Must be a UUID."}
