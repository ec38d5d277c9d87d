"""Complainant identity and free texts are encrypted at rest under one data key per complaint
(shared.identity_vault, PyMongo explicit encryption): the raw store — PostgreSQL's own tables
behind DocumentDB, and the documents through the wire — holds none of the planted strings; staff
read them as before; erasing the key makes them unreadable while the statistics stay; a master
key rotation (rewrap_many_data_key) keeps everything readable under the new key only."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from uuid import uuid4

import httpx
import pytest
from registry_testkit.events import base, received
from registry_testkit.wiring import TOKEN_SECRET, BuildRegistry, register

from sipuma.registry.erase_cli import erase
from sipuma.registry.store import Store
from sipuma.shared import events as ev
from sipuma.shared import payloads as p
from sipuma.shared.auth import Role, mint_token
from sipuma.shared.identity_vault import ERASED, IdentityKeySettings, IdentityVault
from sipuma.shared.topics import ALL_TOPICS
from tests.harness.endpoints import Endpoints
from tests.harness.rawstore import postgres_texts, wire_texts

pytestmark = pytest.mark.integration
OFFICE = "KPUBC-TPK-TJPRIOK"
NAME = "Planted Nama Wulandari-7731"
NIK = "3171099988877761"
PHONE = "+6281299887766"
WHAT = "planted-uraian-pungutan-liar-4417"
SUPPLEMENT = "planted-tambahan-keterangan-9902"
PLANTED = (NAME, NIK, PHONE, WHAT, SUPPLEMENT, "Wulandari")


def planted_complaint() -> ev.ComplaintReceived:
    event = received(OFFICE, contact=p.TrackingContact(mobile=PHONE))
    complainant = event.complainant.model_copy(update={"name": NAME, "nik": NIK, "phone": PHONE})
    elements = event.elements.model_copy(update={"what": WHAT})
    return event.model_copy(update={"complainant": complainant, "elements": elements})


def auth() -> dict[str, str]:
    token = mint_token(TOKEN_SECRET, "officer-1", OFFICE, [Role.COMPLIANCE])
    return {"Authorization": f"Bearer {token}"}


def local_key() -> str:
    return base64.b64encode(os.urandom(96)).decode()


async def test_identity_is_ciphertext_at_rest_readable_by_staff_and_erasable(
    build_registry: BuildRegistry, endpoints: Endpoints, capfd: pytest.CaptureFixture[str]
) -> None:
    built, recorder = build_registry()
    event = planted_complaint()
    number = (await register(built.registry, event))["number"]
    supplemented = ev.ComplaintSupplemented(
        **base(OFFICE, event.complaint_id),
        supplement_id=uuid4(),
        kind=p.SupplementKind.ADDITION,
        text=SUPPLEMENT,
        recorded_at=datetime.now(UTC),
        officer_id="198001012005011001",
    )
    assert await built.registry.absorb(supplemented)

    database = built.store.db.name
    raw = await wire_texts(built.store.client, database)
    assert raw and not [s for s in PLANTED for text in raw if s in text]
    rows = postgres_texts(endpoints, database)
    if rows is not None:  # the local store: PostgreSQL's tables themselves
        assert rows and not [s for s in PLANTED for text in rows if s in text]

    transport = httpx.ASGITransport(app=built.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://r") as http:
        detail = (await http.get(f"/v1/complaints/{number}", headers=auth())).json()
        assert detail["complainant"]["name"] == NAME
        assert detail["elements"]["what"] == WHAT
        assert detail["tracking_contact"]["mobile"] == PHONE

        refused = await http.delete(f"/v1/complaints/{number}/identity", headers=auth())
        assert refused.status_code == 403  # compliance staff may read, not erase
        supervisor = {
            "Authorization": "Bearer "
            + mint_token(TOKEN_SECRET, "spv-1", "KPPBC-TMP-BATAM", [Role.SUPERVISOR])
        }
        erased = await http.delete(f"/v1/complaints/{number}/identity", headers=supervisor)
        assert erased.status_code == 200 and erased.json()["erased"] is True
        again = await http.delete(f"/v1/complaints/{number}/identity", headers=supervisor)
        assert again.json()["erased"] is False
        # One complaint.identity-erased.v1 on the analytics topic, with no personal data in it.
        # (published before the answer: the outbox sends at once when the broker takes it)
        announced = recorder.of(ev.ComplaintIdentityErased)
        assert [str(e.complaint_id) for e in announced] == [str(event.complaint_id)]
        assert not [s for s in PLANTED if s in announced[0].model_dump_json()]
        # A new process (no cached data key) reads the erased complaint:
        fresh = Store.connect(endpoints.mongo_uri, database, built.settings.identity_keys())
        record = await fresh.complaint(str(event.complaint_id))
        assert record is not None
        assert record["intake"]["complainant"] == ERASED
        assert record["intake"]["elements"] == ERASED
        assert record["office_code"] == OFFICE and record["received_at"]  # statistics stay
        listed = await fresh.listed(str(event.complaint_id))
        assert listed is not None and listed["view"]["status"] == "registered"
        assert listed["tracking_contact"] == ERASED
        await fresh.close()

    # Nor in what went to analytics topics, nor in the service's logs.
    analytics = [
        e.model_dump_json()
        for topic, e in recorder.published
        if not any(spec.restricted for spec in ALL_TOPICS if built.settings.topic(spec) == topic)
    ]
    assert analytics and not [s for s in PLANTED for text in analytics if s in text]
    logged = capfd.readouterr()
    assert not [s for s in PLANTED if s in logged.out or s in logged.err]


async def test_master_key_rotation_rewraps_every_data_key(
    endpoints: Endpoints, store: Store
) -> None:
    old = IdentityKeySettings(master_key=local_key())
    vault = IdentityVault(store.client, store.db.name, old)
    await vault.ensure_key_vault()
    ids = [str(uuid4()) for _ in range(3)]
    sealed = [await vault.seal(i, {"complainant": {"name": NAME}}, ["complainant"]) for i in ids]
    await vault.close()

    new = IdentityKeySettings(master_key=local_key(), kms_provider="local:rotated")
    rotating = IdentityVault(store.client, store.db.name, new, previous=old)
    assert await rotating.rewrap() == 3
    await rotating.close()

    # Only the new master key is needed now; the old one opens nothing.
    after = IdentityVault(store.client, store.db.name, new)
    assert [(await after.open(s))["complainant"]["name"] for s in sealed] == [NAME] * 3
    await after.close()
    stale = IdentityVault(store.client, store.db.name, IdentityKeySettings(master_key=local_key()))
    assert (await stale.open(sealed[0]))["complainant"] == ERASED
    await stale.close()


async def test_the_erase_command_erases_and_leaves_the_event_in_the_outbox(
    build_registry: BuildRegistry, endpoints: Endpoints, capsys: pytest.CaptureFixture[str]
) -> None:
    built, _ = build_registry()
    event = planted_complaint()
    number = (await register(built.registry, event))["number"]
    code = await erase(built.settings, [number, "PGD/NOPE/2026/000001"], "197801012000031004")
    assert code == 1  # one number was unknown
    out = capsys.readouterr()
    assert f"{number}: dihapus" in out.out and "not found" in out.err
    record = await built.store.complaint(str(event.complaint_id))
    assert record is not None and record["intake"]["complainant"] == ERASED
    waiting = await built.store.db["erasures"].find_one({"_id": str(event.complaint_id)})
    assert waiting is not None and "due" in waiting["outbox"]  # the relay publishes it


async def test_intake_fields_are_sealed_in_one_bundle_and_older_records_still_open(
    build_registry: BuildRegistry,
) -> None:
    """Issue 15 part 5: the intake's sealed fields are one encrypted sub-document (one
    encryption per complaint), their names in clear; a record sealed field by field before that
    reads the same."""
    built, _ = build_registry()
    event = planted_complaint()
    await register(built.registry, event)
    complaint_id = str(event.complaint_id)
    raw = await built.store.complaints.find_one({"_id": complaint_id})
    assert raw is not None
    stored = raw["intake"]
    assert stored["sealed"].subtype == 6  # ciphertext (BSON Binary subtype 6)
    assert set(stored["sealed_fields"]) == {"complainant", "elements", "tracking_contact"}
    assert not {"complainant", "elements", "tracking_contact"} & stored.keys()
    record = await built.store.complaint(complaint_id)
    assert record is not None
    assert record["intake"] == event.model_dump(mode="json")  # as given, nothing else

    # As the registry sealed before the bundle: each field on its own.
    assert built.store.vault is not None
    older = received(OFFICE, contact=p.TrackingContact(mobile=PHONE))
    older_id = str(older.complaint_id)
    fields = ("complainant", "elements", "tracking_contact", "paper_archive_ref")
    intake = await built.store.vault.seal(older_id, older.model_dump(mode="json"), fields)
    await built.store.complaints.insert_one(
        {"_id": older_id, "office_code": OFFICE, "intake": intake}
    )
    found = await built.store.complaint(older_id)
    assert found is not None and found["intake"] == older.model_dump(mode="json")
