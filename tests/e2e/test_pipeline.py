"""The whole pipeline, end to end: intake, registry, evidence and notifier as separate processes
against the real Kafka, MongoDB-compatible store, MinIO, SMTP server and an SMS-gateway sink.

Three offices in three time zones (WIB, WITA, WIT) record complaints concurrently through intake's
HTTP API. The test then proves, from the outside:

- every complaint is registered exactly once, with per-office register numbers exactly 1..N;
- evidence uploaded through the evidence API is linked in the registry's complaint detail;
- each complaint's ticket arrives by e-mail (SMTP server) and by SMS (the stack's own sink), and
  the public tracking API shows its status without personal data;
- the distinctive personal data planted in every complaint (names, NIK, addresses, e-mails,
  phones) appears in no service's log file and on no analytics topic (raw values, keys and
  headers of every non-restricted topic, read from the beginning).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from sipuma.shared import topics
from sipuma.shared.auth import Role
from tests.e2e.stack import Stack, eventually, running_stack
from tests.harness.endpoints import Endpoints
from tests.harness.inboxes import MailInbox
from tests.harness.state import read_to_end

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

OFFICES = ("KPUBC-TPK-TJPRIOK", "KPPBC-TMP-MAKASSAR", "KPPBC-TMP-JAYAPURA")  # WIB, WITA, WIT
PER_OFFICE = 15
SYMBOL = "[0-9A-HJKMNP-TV-Z]"  # Crockford base32
TICKET = re.compile(rf"\b{SYMBOL}{{4}}-{SYMBOL}{{4}}-{SYMBOL}{{4}}-{SYMBOL}{{4}}\b")
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f1c7"
    "e40000000049454e44ae426082"
)
T = TypeVar("T")


@pytest.fixture(scope="module")
def stack(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # INFO: the services log every step they take, so the log check has something to look at.
    with running_stack(
        endpoints,
        tmp_path_factory.mktemp("pipeline-stack"),
        "pipe",
        ("intake", "registry", "evidence", "notifier"),
        env={"SIPUMA_LOG_LEVEL": "INFO"},
    ) as started:
        yield started


def letters(hex_text: str) -> str:
    return "".join("qwertyuiopasdfgh"[int(c, 16)] for c in hex_text)


class Planted:
    """One complaint's invented, distinctive personal data."""

    def __init__(self, run: str, office: str, index: int, serial: int) -> None:
        # Letters only (names allow no digits), unique per run, office and complaint.
        tag = f"{letters(run)}{office[-4:].lower()}{letters(format(index, '02x'))}"
        self.office = office
        self.name = f"Zulaikha Qor'vath-{tag}"
        self.address = f"Jl. Kenari Tersembunyi {tag} No. 7, Kelurahan Sukamundur"
        self.email = f"pengadu.{tag}@example.org"
        self.tracking_email = f"lacak.{tag}@example.org"
        digits = f"{serial:08d}"
        self.phone_local = f"0813{digits}"  # complainant's phone
        self.mobile_local = f"0857{digits}"  # tracking mobile (SMS)
        self.mobile_e164 = f"+62857{digits}"
        self.nik = f"317101150890{serial % 9000 + 1000:04d}"
        self.employee = f"Pegawai Qorvath-{tag}"

    def body(self) -> dict[str, Any]:
        return {
            "office_code": self.office,
            "channel": "in_person",
            "received_at": datetime.now(UTC).isoformat(),
            "complainant": {
                "name": self.name,
                "address": self.address,
                "phone": self.phone_local,
                "email": self.email,
                "nik": self.nik,
            },
            "elements": {
                "what": "Petugas meminta uang tambahan untuk mempercepat pemeriksaan barang.",
                "who": [{"name": self.employee, "position": "Pemeriksa"}],
                "when": {"kind": "date", "date": "2026-11-20"},
                "where": "Ruang pemeriksaan fisik, Terminal 3",
                "how": "Disampaikan secara lisan saat pemeriksaan koper.",
            },
            "tracking_contact": {"email": self.tracking_email, "mobile": self.mobile_local},
            "paper_archive_ref": "Lemari UKI-2, map 11/2026",
        }

    def needles(self) -> dict[str, bytes]:
        """Every form the data could take in bytes (phones also as digits without prefix)."""
        core_phone, core_mobile = self.phone_local[1:], self.mobile_local[1:]
        values = {
            "name": self.name,
            "name-tag": self.name.split("-")[-1],  # the unique part, however it is spelled
            "address": "Kenari Tersembunyi",
            "email": self.email,
            "tracking_email": self.tracking_email,
            "phone": core_phone,
            "mobile": core_mobile,
            "nik": self.nik,
        }
        out = {k: v.encode() for k, v in values.items()}
        out["name-json"] = json.dumps(self.name).encode()[1:-1]
        return out


async def read_topic(bootstrap: str, topic: str) -> list[bytes]:
    """Every record on `topic` up to its high-water mark, as raw bytes (key, value, header
    names and values)."""
    raw: list[bytes] = []
    for record in await read_to_end(bootstrap, topic):
        parts = [record.key or b"", record.value or b""]
        for name, value in record.headers or ():
            parts += [name.encode(), value or b""]
        raw.append(b"\x00".join(parts))
    return raw


async def test_three_offices_end_to_end(stack: Stack, endpoints: Endpoints) -> None:
    run = secrets.token_hex(3)
    base_serial = secrets.randbelow(10_000_000) * 10
    planted = [
        Planted(run, office, i, base_serial + n * 100 + i)
        for n, office in enumerate(OFFICES)
        for i in range(PER_OFFICE)
    ]
    intake, registry, evidence = (stack.url(n) for n in ("intake", "registry", "evidence"))
    receiver = {
        office: {"Authorization": f"Bearer {stack.token(office=office)}"} for office in OFFICES
    }
    supervisor = {
        "Authorization": "Bearer "
        + stack.token(roles=(Role.SUPERVISOR,), office=OFFICES[0], officer="197501012000031002")
    }

    async with httpx.AsyncClient(timeout=30) as http:
        # 1. Three offices record concurrently, each its complaints one after another (as one
        #    receiver would), all three offices at once.
        async def record_office(office: str) -> list[tuple[Planted, dict[str, Any]]]:
            answers = []
            for p in (p for p in planted if p.office == office):
                r = await http.post(
                    f"{intake}/v1/complaints", json=p.body(), headers=receiver[office]
                )
                assert r.status_code in (201, 202), r.text
                answers.append((p, r.json()))
            return answers

        recorded = [
            pair
            for group in await asyncio.gather(*(record_office(o) for o in OFFICES))
            for pair in group
        ]
        ids = {answer["complaint_id"]: p for p, answer in recorded}
        assert len(ids) == len(planted)

        # 2. Every complaint registered once; per-office numbers exactly 1..N.
        async def registered() -> dict[str, list[dict[str, Any]]] | None:
            by_office: dict[str, list[dict[str, Any]]] = {}
            for office in OFFICES:
                r = await http.get(
                    f"{registry}/v1/complaints",
                    params={"office": office, "page_size": 200},
                    headers=supervisor,
                )
                r.raise_for_status()
                items = r.json()["items"]
                if len([i for i in items if i.get("register_number")]) < PER_OFFICE:
                    return None
                by_office[office] = items
            return by_office

        listed = await eventually("every complaint registered", registered)
        for office, items in listed.items():
            assert {i["complaint_id"] for i in items} == {
                cid for cid, p in ids.items() if p.office == office
            }, f"{office}: the registry holds other or missing complaints"
            numbers = [i["register_number"] for i in items]
            assert len(numbers) == len(set(numbers)), f"{office}: a number was given twice"
            sequences = sorted(int(n.rsplit("/", 1)[1]) for n in numbers)
            assert sequences == list(range(1, PER_OFFICE + 1)), f"{office}: {sequences}"
            assert all(n.startswith(f"PGD/{office}/") for n in numbers)
        number_of = {i["complaint_id"]: i["register_number"] for v in listed.values() for i in v}

        # Intake knows the same number (it consumes complaint.registered).
        for cid, p in list(ids.items())[:: PER_OFFICE // 3]:

            async def intake_status(cid: str = cid, office: str = p.office) -> dict[str, Any]:
                r = await http.get(f"{intake}/v1/complaints/{cid}/status", headers=receiver[office])
                r.raise_for_status()
                body: dict[str, Any] = r.json()
                return body if body["status"] == "registered" else {}

            status = await eventually("intake sees the register number", intake_status)
            assert status["register_number"] == number_of[cid]

        # 3. Evidence: one photo per office, uploaded through the evidence API, linked in the
        #    registry's complaint detail.
        uploads: dict[str, str] = {}
        for office in OFFICES:
            cid = next(c for c, p in ids.items() if p.office == office)

            async def upload(cid: str = cid, office: str = office) -> dict[str, Any] | None:
                r = await http.post(
                    f"{evidence}/v1/complaints/{cid}/evidence",
                    params={"kind": "photo", "filename": "foto-bukti.png"},
                    content=PNG,
                    headers={**receiver[office], "Content-Type": "image/png"},
                )
                if r.status_code in (404, 503):  # evidence has not seen the complaint yet
                    return None
                assert r.status_code == 201, r.text
                return r.json()  # type: ignore[no-any-return]

            stored = await eventually("evidence accepted", upload)
            uploads[cid] = stored["evidence_id"]

        for cid, evidence_id in uploads.items():

            async def linked(cid: str = cid) -> dict[str, Any] | None:
                r = await http.get(f"{registry}/v1/complaints/{number_of[cid]}", headers=supervisor)
                r.raise_for_status()
                detail: dict[str, Any] = r.json()
                return detail if detail["evidence"] else None

            detail = await eventually("evidence linked in the registry", linked)
            assert [e["evidence_id"] for e in detail["evidence"]] == [evidence_id]
            assert detail["evidence"][0]["content_type"] == "image/png"
            assert detail["evidence"][0]["size_bytes"] == len(PNG)
            assert detail["complainant"]["name"] == ids[cid].name  # staff do see the identity

        # 4. Tickets by e-mail and SMS, the same ticket on both channels.
        mail = MailInbox(endpoints.mail_api)
        wanted_mail = {p.tracking_email: p for p in planted}

        async def all_mail() -> dict[str, str] | None:
            listing = (await http.get(f"{mail.api}/api/v1/messages")).json()["messages"]
            found: dict[str, str] = {}
            for m in listing:
                to = [t["Address"].lower() for t in m["To"]]
                hit = next((a for a in to if a in wanted_mail), None)
                if hit and hit not in found:
                    found[hit] = m["ID"]
            return found if len(found) == len(wanted_mail) else None

        mail_ids = await eventually("every ticket e-mail", all_mail, timeout=120)
        ticket_by_mail: dict[str, str] = {}
        for address, message_id in mail_ids.items():
            message = (await http.get(f"{mail.api}/api/v1/message/{message_id}")).json()
            found = TICKET.findall(message["Text"])
            assert found, f"no ticket in the e-mail to {address}"
            ticket_by_mail[address] = found[0]
        assert len(set(ticket_by_mail.values())) == len(planted), "tickets must be distinct"

        assert stack.sms is not None
        wanted_sms = {p.mobile_e164: p for p in planted}

        async def all_sms() -> dict[str, list[str]] | None:
            listing = (await http.get(f"{stack.sms.url}/messages")).json()["messages"]  # type: ignore[union-attr]
            got: dict[str, list[str]] = {}
            for m in listing:
                if m["to"] in wanted_sms:
                    got.setdefault(m["to"], []).append(m["message"])
            return got if len(got) == len(wanted_sms) else None

        sms = await eventually("every ticket SMS", all_sms, timeout=120)
        for p in planted:
            assert len(sms[p.mobile_e164]) == 1, f"{len(sms[p.mobile_e164])} SMS to one number"
            assert TICKET.findall(sms[p.mobile_e164][0]) == [ticket_by_mail[p.tracking_email]]

        # 5. Public tracking: the status, and no personal data.
        for p in planted:
            ticket = ticket_by_mail[p.tracking_email]
            r = await http.get(f"{registry}/v1/track/{ticket}")
            assert r.status_code == 200, r.text
            answer = r.json()
            assert answer["status"] == "registered"
            assert [s["status"] for s in answer["timeline"]] == ["received", "registered"]
            for kind, needle in p.needles().items():
                assert needle not in r.content, f"tracking answer shows the {kind}"
        r = await http.get(f"{registry}/v1/track/AAAA-AAAA-AAAA-AAAA")
        assert r.status_code == 404

        # The notifier has recorded every delivery (so its logs hold the whole story).
        async def notified() -> bool:
            for cid in ids:
                r = await http.get(f"{registry}/v1/complaints/{number_of[cid]}", headers=supervisor)
                r.raise_for_status()
                sent = r.json()["notifications"]
                if {c for c, v in sent.items() if v.get("status") == "sent"} < {"email", "sms"}:
                    return False
            return True

        await eventually("notification.sent recorded in the registry", notified, timeout=60)

    # 6. Personal data in no service log and on no analytics topic.
    needles = {(p.office, kind): n for p in planted for kind, n in p.needles().items()}
    assert stack.workdir is not None
    logs = {name: (stack.workdir / f"{name}.log") for name in stack.services}
    for name, path in logs.items():
        text = Path(path).read_bytes()
        assert text, f"{name} wrote no log at all: the check would prove nothing"
        leaks = sorted({kind for kind, n in needles.items() if n in text})
        assert not leaks, f"personal data in the {name} log: {leaks}"

    analytics = [spec for spec in topics.ALL_TOPICS if not spec.restricted]
    restricted = [spec for spec in topics.ALL_TOPICS if spec.restricted]
    seen: dict[str, int] = {}
    for spec in analytics:
        records = await read_topic(endpoints.kafka_bootstrap, stack.topic(spec))
        seen[spec.name] = len(records)
        blob = b"\x01".join(records)
        leaks = sorted({kind for kind, n in needles.items() if n in blob})
        assert not leaks, f"personal data on analytics topic {spec.name}: {leaks}"
    # The check saw real traffic: one registration each, evidence, two notifications each.
    assert seen[topics.COMPLAINT_REGISTERED.name] >= len(planted), seen
    assert seen[topics.EVIDENCE_STORED.name] >= len(OFFICES), seen
    assert seen[topics.NOTIFICATION_SENT.name] >= 2 * len(planted), seen
    # ...and it would have caught a leak: the restricted topic does carry the planted data.
    received = b"\x01".join(
        await read_topic(endpoints.kafka_bootstrap, stack.topic(topics.COMPLAINT_RECEIVED))
    )
    assert planted[0].nik.encode() in received and planted[0].name.encode() in received
    assert restricted  # the restricted topics are the only place it is allowed


async def test_planted_data_through_every_endpoint_reaches_no_log_and_no_analytics_topic(
    stack: Stack, endpoints: Endpoints
) -> None:
    """Name, NIK, phone, e-mail, address and the ticket, sent through every endpoint that takes
    them (record, supplement, reported employees, tracking contact and its correction, "register
    number told", an evidence file name, public tracking by path and by body): none of it in any
    service log or on any analytics topic."""
    run = secrets.token_hex(3)
    serial = secrets.randbelow(10_000_000) * 10 + 7
    office = OFFICES[1]
    p = Planted(run, office, 99, serial)
    corrected = Planted(run, office, 98, serial + 1)  # the corrected tracking contact
    # NIP: birth date, appointment month, gender, serial (18 digits), distinctive per run.
    nip = f"1985{serial % 12 + 1:02d}{serial % 28 + 1:02d}2010031{serial % 1000:03d}"
    intake, registry, evidence = (stack.url(n) for n in ("intake", "registry", "evidence"))
    receiver = {"Authorization": f"Bearer {stack.token(office=office)}"}
    supervisor = {
        "Authorization": "Bearer "
        + stack.token(roles=(Role.SUPERVISOR,), office=office, officer="197501012000031002")
    }
    file_name = f"KTP {p.name} {p.email} {p.phone_local} {p.nik}.png"

    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(f"{intake}/v1/complaints", json=p.body(), headers=receiver)
        assert r.status_code in (201, 202), r.text
        cid = r.json()["complaint_id"]
        steps = [
            (
                "supplements",
                "post",
                {
                    "kind": "addition",
                    "text": f"Pengadu {p.name} ({p.nik}) dapat dihubungi di {p.phone_local}, "
                    f"{p.email}, {p.address}.",
                },
            ),
            (
                "reported-employees",
                "post",
                {"employees": [{"name": p.employee, "nip": nip, "position": "Pemeriksa"}]},
            ),
            (
                "tracking-contact",
                "put",
                {"email": corrected.tracking_email, "mobile": corrected.mobile_local},
            ),
            (
                "register-number-communication",
                "post",
                {"outcome": "told", "method": "telephone", "note": f"Ditelepon ke {p.phone_local}"},
            ),
        ]
        for path, method, body in steps:

            async def sent(path: str = path, method: str = method, body: Any = body) -> bool:
                r = await http.request(
                    method, f"{intake}/v1/complaints/{cid}/{path}", json=body, headers=receiver
                )
                if r.status_code == 409:  # "told" waits for the register number
                    return False
                assert r.status_code < 300, f"{path}: {r.status_code} {r.text}"
                return True

            await eventually(f"{path} accepted", sent)

        async def upload() -> bool:
            r = await http.post(
                f"{evidence}/v1/complaints/{cid}/evidence",
                params={"kind": "photo", "filename": file_name},
                content=PNG,
                headers={**receiver, "Content-Type": "image/png"},
            )
            if r.status_code in (404, 503):  # evidence has not seen the complaint yet
                return False
            assert r.status_code == 201, r.text
            return True

        await eventually("evidence accepted", upload)

        async def tickets() -> list[str] | None:
            listing = (await http.get(f"{endpoints.mail_api}/api/v1/messages")).json()
            found = []
            for m in listing["messages"]:
                to = {t["Address"].lower() for t in m["To"]}
                if to & {p.tracking_email, corrected.tracking_email}:
                    message = await http.get(f"{endpoints.mail_api}/api/v1/message/{m['ID']}")
                    found += TICKET.findall(message.json()["Text"])
            return sorted(set(found)) if len(set(found)) >= 2 else None

        issued = await eventually("both tickets e-mailed", tickets, timeout=120)
        for ticket in issued:
            await http.get(f"{registry}/v1/track/{ticket}")
            await http.post(f"{registry}/v1/track", json={"ticket": ticket})

        async def recorded() -> bool:
            r = await http.get(
                f"{registry}/v1/complaints", params={"office": office}, headers=supervisor
            )
            r.raise_for_status()
            return any(
                i["complaint_id"] == cid and i.get("register_number") for i in r.json()["items"]
            )

        await eventually("the complaint registered", recorded)

    needles = {**p.needles(), **{f"corrected-{k}": v for k, v in corrected.needles().items()}}
    needles |= {
        "employee": p.employee.encode(),
        "nip": nip.encode(),
        "file-name-email": p.email.replace("@", "%40").encode(),
        **{f"ticket-{i}": t.encode() for i, t in enumerate(issued)},
    }
    assert stack.workdir is not None
    for name in stack.services:
        text = (stack.workdir / f"{name}.log").read_bytes()
        leaks = sorted(kind for kind, n in needles.items() if n in text)
        assert not leaks, f"personal data or a ticket in the {name} log: {leaks}"
    for spec in (s for s in topics.ALL_TOPICS if not s.restricted):
        blob = b"\x01".join(await read_topic(endpoints.kafka_bootstrap, stack.topic(spec)))
        leaks = sorted(kind for kind, n in needles.items() if n in blob)
        assert not leaks, f"personal data or a ticket on analytics topic {spec.name}: {leaks}"
