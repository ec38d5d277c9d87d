"""Load while faults happen, and the exact reconciliation afterwards.

The load behaves like a careful receiver's browser: every complaint carries an `Idempotency-Key`
and is retried with the same key and body until intake answers 2xx (a dead intake, a refused
connection, a 5xx). So each complaint is *accepted* exactly once from the client's point of view,
and the system must hold it exactly once. Evidence is uploaded to some accepted complaints and
retried until 201 (503 while MinIO is down, 404 until evidence has seen the complaint)."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from minio import Minio
from pymongo import MongoClient

from sipuma.registry.handlers import CONSUMED as REGISTRY_CONSUMED
from sipuma.shared import topics
from tests.chaos.infra import OFFICES, S3_KEY, S3_SECRET, World
from tests.harness.state import consumed

TXT = "Berita acara pengaduan: petugas meminta uang tambahan di ruang pemeriksaan.\n"


@dataclass
class Accepted:
    complaint_id: str
    office: str
    status: int
    email: str | None = None
    mobile: str | None = None


@dataclass
class Ledger:
    """What the clients were told, cumulative over the whole world's life."""

    complaints: dict[str, Accepted] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)  # evidence id → complaint id
    unanswered: list[str] = field(default_factory=list)  # idempotency keys never answered 2xx
    rejected: list[str] = field(default_factory=list)  # 4xx answers: a bug in the load or service
    statuses: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    known_problems: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _body(rng: random.Random, contact: dict[str, str] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "in_person",
        "received_at": datetime.now(UTC).isoformat(),
        "complainant": {
            "name": rng.choice(
                ["Ni Luh Putu Ayu", "Sukarno", "Andi Mappanyukki", "O'Neil Siregar"]
            ),
            "address": "Jl. Sunset Road No. 8, Kuta, Badung",
            "phone": "0812 3456 7890",
        },
        "elements": {
            "what": "Petugas meminta uang tambahan untuk mempercepat pemeriksaan barang.",
            "who": [{"name": "Budi S.", "position": "Pemeriksa", "unit": "P2"}],
            "when": {"kind": "date", "date": "2026-11-20"},
            "where": "Ruang pemeriksaan fisik, Terminal 3",
            "how": "Disampaikan secara lisan saat pemeriksaan koper.",
        },
    }
    if contact:
        body["tracking_contact"] = contact
    return body


def _retrying(
    send: Any, ledger: Ledger, deadline: float, retry_on: tuple[int, ...] = ()
) -> httpx.Response | None:
    while time.monotonic() < deadline:
        try:
            answer: httpx.Response = send()
        except httpx.HTTPError:
            answer = None  # type: ignore[assignment]
        if answer is not None:
            with ledger.lock:
                ledger.statuses[answer.status_code] += 1
            if answer.status_code < 300:
                return answer
            if answer.status_code < 500 and answer.status_code not in retry_on:
                return answer
        with ledger.lock:
            ledger.retries += 1
        time.sleep(0.5)
    return None


def office_load(
    world: World,
    ledger: Ledger,
    office: str,
    count: int,
    spread_s: float,
    seed: int,
    give_up_s: float = 150,
) -> None:
    rng = random.Random(seed)
    intake = world.services["intake"]
    evidence = world.services["evidence"]
    auth = {"Authorization": f"Bearer {world.token(office)}"}
    with httpx.Client(timeout=10) as client:
        for i in range(count):
            started = time.monotonic()
            contact = None
            if i % 2 == 0:
                contact = {
                    "email": f"c{uuid.uuid4().hex[:16]}@example.co.id",
                    "mobile": f"+62812{rng.randrange(10**8):08d}",
                }
            body = _body(rng, contact)
            key = str(uuid.uuid4())
            answer = _retrying(
                lambda body=body, key=key: client.post(
                    f"{intake.url}/v1/complaints",
                    json=body,
                    headers={**auth, "Idempotency-Key": key},
                ),
                ledger,
                time.monotonic() + give_up_s,
                retry_on=(409,),  # the same key still running after a retry: ask again
            )
            if answer is None or answer.status_code >= 300:
                with ledger.lock:
                    target = ledger.unanswered if answer is None else ledger.rejected
                    target.append(
                        key if answer is None else f"{answer.status_code} {answer.text[:300]}"
                    )
                continue
            cid = answer.json()["complaint_id"]
            with ledger.lock:
                ledger.complaints[cid] = Accepted(
                    cid,
                    office,
                    answer.status_code,
                    contact["email"] if contact else None,
                    contact["mobile"] if contact else None,
                )
            if i % 3 == 0:
                # One key per upload, the same file on every retry: a retry after a timeout
                # gets the first answer instead of storing the file twice.
                sent = {**auth, "Content-Type": "text/plain", "Idempotency-Key": str(uuid.uuid4())}
                data = (TXT * rng.randint(1, 50)).encode()
                up = _retrying(
                    lambda cid=cid, sent=sent, data=data: client.post(
                        f"{evidence.url}/v1/complaints/{cid}/evidence",
                        params={"kind": "soft_copy", "filename": "berita-acara.txt"},
                        content=data,
                        headers=sent,
                    ),
                    ledger,
                    time.monotonic() + give_up_s,
                    retry_on=(404, 409),  # 409: the key's first request still runs
                )
                if up is not None and up.status_code == 201:
                    with ledger.lock:
                        ledger.evidence[up.json()["evidence_id"]] = cid
                elif up is not None:
                    with ledger.lock:
                        ledger.rejected.append(f"evidence {up.status_code} {up.text[:300]}")
                else:
                    with ledger.lock:
                        ledger.unanswered.append(f"evidence for {cid}")
            pause = spread_s / count - (time.monotonic() - started)
            if pause > 0:
                time.sleep(pause)


def run_load(
    world: World,
    ledger: Ledger,
    per_office: int,
    spread_s: float,
    seed: int,
    offices: tuple[str, ...] = OFFICES,
) -> None:
    threads = [
        threading.Thread(
            target=office_load,
            args=(world, ledger, office, per_office, spread_s, seed * 10 + n),
            daemon=True,
        )
        for n, office in enumerate(offices)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# --- what the system holds -------------------------------------------------------------------


def _mail_recipients(world: World) -> tuple[Counter[str], Counter[str]]:
    """Per recipient: the distinct messages (Message-IDs) and the copies the SMTP sink took.

    The notifier resends after a crash in the provider call with the same Message-ID; SMTP has
    no way to make that idempotent, so if the first copy had been accepted the sink holds two
    transmissions of one message. What the complainant has is one message (the identity of an
    e-mail is its Message-ID, RFC 5322 §3.6.4; mailbox stores that suppress duplicates show
    it once), so messages are counted by Message-ID and the extra copies separately."""
    ids: dict[str, set[str]] = defaultdict(set)
    copies: Counter[str] = Counter()
    parser = BytesHeaderParser()
    for meta in (world.folder / "mail").glob("*.json"):
        raw = meta.with_suffix(".eml")
        try:
            recipients = [r.lower() for r in json.loads(meta.read_text())["rcpt_tos"]]
            message_id = str(parser.parsebytes(raw.read_bytes()).get("Message-ID", meta.stem))
        except (ValueError, KeyError, OSError):
            continue  # half-written (the .eml is written last)
        for recipient in recipients:
            ids[recipient].add(message_id)
            copies[recipient] += 1
    return Counter({r: len(found) for r, found in ids.items()}), copies


def _sms_replays(world: World) -> int:
    """Resends the SMS sink answered from its Idempotency-Key record instead of sending."""
    try:
        return int(httpx.get(f"{world.infra['sms'].url}/messages", timeout=10).json()["replays"])
    except (httpx.HTTPError, ValueError, KeyError):
        return -1


def _sms_recipients(world: World) -> Counter[str]:
    found: Counter[str] = Counter()
    store = world.folder / "sms.jsonl"
    if store.exists():
        for line in store.read_text().splitlines():
            try:
                found[json.loads(line)["to"]] += 1
            except (ValueError, KeyError):
                continue
    return found


async def _events(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=1500)
            if not batch:
                return found
            found += [json.loads(r.value) for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()


@dataclass
class Snapshot:
    numbers: list[dict[str, Any]]
    complaints: int
    tickets: Counter[str]
    mail: Counter[str]  # distinct messages (Message-IDs) per recipient
    mail_copies: Counter[str]  # transmissions per recipient
    sms: Counter[str]
    evidence_events: list[dict[str, Any]]
    evidence_records: int
    evidence_pending: int  # committed records whose seal or event the outbox relay still owes

    @classmethod
    def take(cls, world: World, with_events: bool = True) -> Snapshot:
        client: MongoClient[dict[str, Any]] = MongoClient(
            world.mongo_uri, serverSelectionTimeoutMS=5000
        )
        with client as mongo:
            registry = mongo[f"{world.db}_registry"]
            # Keyed by `_id`: a DocumentDB cursor returns a document updated between two of its
            # batches again (a relay may still be marking numbers sent while we read).
            numbers = list(
                {
                    n["_id"]: n
                    for n in registry["register_numbers"].find(
                        {}, {"office_code": 1, "year": 1, "seq": 1, "complaint_id": 1}
                    )
                }.values()
            )
            complaints = registry["complaints"].count_documents({})
            tickets = Counter(
                {
                    t["_id"]: t["complaint_id"]
                    for t in registry["tickets"].find({}, {"complaint_id": 1})
                }.values()
            )
            evidence = mongo[f"{world.db}_evidence"]["evidence"]
            evidence_records = evidence.count_documents({})
            evidence_pending = evidence.count_documents({"outbox_pending": True})
        events = (
            asyncio.run(_events(world.broker.bootstrap, world.topic(topics.EVIDENCE_STORED)))
            if with_events
            else []
        )
        mail, mail_copies = _mail_recipients(world)
        return cls(
            numbers,
            complaints,
            tickets,
            mail,
            mail_copies,
            _sms_recipients(world),
            events,
            evidence_records,
            evidence_pending,
        )


def converged(world: World, ledger: Ledger) -> bool:
    try:
        snap = Snapshot.take(world, with_events=False)
    except Exception:
        return False
    if len({n["complaint_id"] for n in snap.numbers}) < len(ledger.complaints):
        return False
    for accepted in ledger.complaints.values():
        if accepted.email and snap.mail[accepted.email.lower()] < 1:
            return False
        if accepted.mobile and snap.sms[accepted.mobile] < 1:
            return False
    # An upload committed just before a kill is published by the restarted service's relay,
    # seconds later: converged once that outbox is empty, not as soon as the records exist.
    return snap.evidence_records >= len(ledger.evidence) and snap.evidence_pending == 0


def wait_converged(world: World, ledger: Ledger, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if converged(world, ledger):
            return time.monotonic() - started
        time.sleep(1)
    return -1.0


# What each consumer group of the chaos world reads (its group id is prefix + name).
CONSUMED = {
    "chaos-registry": REGISTRY_CONSUMED,
    "chaos-evidence": (topics.COMPLAINT_RECEIVED, topics.COMPLAINT_REGISTERED),
    "chaos-notifier": (topics.TICKET_ISSUED,),
}


def settle(world: World, timeout: float = 120) -> None:
    """Until every group has committed every record up to the high-water mark: all redelivery
    the fault caused is handled, so a late duplicate would already be in the sinks (instead of
    waiting a while for one to show up)."""

    async def all_consumed() -> None:
        for group, specs in CONSUMED.items():
            await consumed(
                world.broker.bootstrap,
                world.prefix + group,
                [world.topic(spec) for spec in specs],
                timeout,
            )

    asyncio.run(all_consumed())


def reconcile(world: World, ledger: Ledger) -> dict[str, Any]:
    """Every check, collected (not stopping at the first) so a report names all of them."""
    snap = Snapshot.take(world)
    problems: list[str] = []
    accepted = ledger.complaints
    per_complaint = Counter(n["complaint_id"] for n in snap.numbers)
    missing = set(accepted) - set(per_complaint)
    if missing:
        problems.append(f"{len(missing)} accepted complaints never numbered: {sorted(missing)[:5]}")
    extra = set(per_complaint) - set(accepted)
    if len(extra) > len(ledger.unanswered):
        problems.append(f"{len(extra)} numbered complaints nobody was told about")
    twice = {c: k for c, k in per_complaint.items() if k > 1}
    if twice:
        problems.append(f"{len(twice)} complaints numbered more than once: {twice}")
    if snap.complaints != len(per_complaint):
        problems.append(f"{snap.complaints} complaint documents for {len(per_complaint)} numbered")
    per_office: dict[tuple[str, int], list[int]] = defaultdict(list)
    for n in snap.numbers:
        per_office[(n["office_code"], n["year"])].append(n["seq"])
    for (office, year), seqs in sorted(per_office.items()):
        if sorted(seqs) != list(range(1, len(seqs) + 1)):
            dupes = [s for s, k in Counter(seqs).items() if k > 1]
            gaps = sorted(set(range(1, max(seqs) + 1)) - set(seqs))
            problems.append(f"{office}/{year}: gaps {gaps[:10]} duplicates {dupes[:10]}")
    # (complaint, e-mail, mobile) of those with a tracking contact: always both (office_load)
    contacts = [(a, a.email.lower(), a.mobile) for a in accepted.values() if a.email and a.mobile]
    for a, email, mobile in contacts:
        if snap.tickets[a.complaint_id] != 1:
            problems.append(f"complaint {a.complaint_id}: {snap.tickets[a.complaint_id]} tickets")
        if snap.mail[email] != 1:
            problems.append(f"complaint {a.complaint_id}: {snap.mail[email]} e-mails")
        # (a second copy of the *same* message is counted below, not a problem: see
        # `_mail_recipients`)
        if snap.sms[mobile] != 1:
            problems.append(f"complaint {a.complaint_id}: {snap.sms[mobile]} SMS")
    s3 = Minio(world.s3_endpoint, access_key=S3_KEY, secret_key=S3_SECRET, secure=False)
    event_ids = set()
    for event in snap.evidence_events:
        event_ids.add(event["evidence_id"])
        try:
            s3.stat_object(world.bucket, event["object_key"])
        except Exception as error:
            problems.append(f"EvidenceStored {event['evidence_id']} without object: {error}")
    unevented = set(ledger.evidence) - event_ids
    if unevented:
        problems.append(f"{len(unevented)} uploads answered 201 without EvidenceStored")
    if snap.evidence_records > len(ledger.evidence) and not ledger.unanswered:
        problems.append(
            f"{snap.evidence_records} evidence records for {len(ledger.evidence)} uploads "
            "(a retried upload stored twice)"
        )
    if ledger.rejected:
        problems.append(f"{len(ledger.rejected)} 4xx answers: {ledger.rejected[:3]}")
    if ledger.unanswered:
        problems.append(f"{len(ledger.unanswered)} requests never answered 2xx")
    return {
        "complaints": len(accepted),
        "queued_202": sum(1 for a in accepted.values() if a.status == 202),
        "numbered": len(per_complaint),
        "contacts": len(contacts),
        "emails": sum(snap.mail[email] for _, email, _ in contacts),
        "email_retransmissions": sum(
            snap.mail_copies[email] - snap.mail[email] for _, email, _ in contacts
        ),
        "sms": sum(snap.sms[mobile] for _, _, mobile in contacts),
        "sms_resends_folded": _sms_replays(world),
        "evidence": len(ledger.evidence),
        "evidence_events": len(snap.evidence_events),
        "retries": ledger.retries,
        "problems": problems,
    }
