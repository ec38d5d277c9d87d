"""Every validation rule at the HTTP edge: 422 problem+json naming the field as the API does and
the rule, in Indonesian and English (our wording, never pydantic's raw English), unknown fields
refused, 413 over the size limit — and nothing published."""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake.tests.support import (
    RegistryDouble,
    auth,
    complaint,
    running_intake,
)
from sipuma.intake.domain import CompletenessRule
from tests.harness.state import read_to_end

pytestmark = pytest.mark.integration

Body = dict[str, Any]
FUTURE = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()


def change(path: str, value: Any) -> Callable[[Body], None]:
    """Set (or with value=... delete) a dotted path like `complainant.name` or `elements.who.0`."""

    def apply(body: Body) -> None:
        *parents, last = path.split(".")
        node: Any = body
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is ...:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return apply


CASES: list[tuple[str, list[Callable[[Body], None]], set[tuple[str, str]]]] = [
    ("name missing", [change("complainant.name", ...)], {("complainant.name", "required")}),
    (
        "name digits",
        [change("complainant.name", "Budi123")],
        {("complainant.name", "name_characters")},
    ),
    (
        "name placeholder",
        [change("complainant.name", "-")],
        {("complainant.name", "not_meaningful")},
    ),
    (
        "address placeholder",
        [change("complainant.address", "n/a")],
        {("complainant.address", "not_meaningful")},
    ),
    (
        "no phone nor email",
        [change("complainant.phone", ...), change("complainant.email", "-")],
        {("complainant", "phone_or_email")},
    ),
    ("phone", [change("complainant.phone", "12345")], {("complainant.phone", "phone_invalid")}),
    ("email", [change("complainant.email", "ayu@")], {("complainant.email", "email_invalid")}),
    ("nik length", [change("complainant.nik", "123")], {("complainant.nik", "nik_format")}),
    (
        "nik region",
        [change("complainant.nik", "0000015708450001")],
        {("complainant.nik", "nik_region")},
    ),
    ("what missing", [change("elements.what", ...)], {("elements.what", "required")}),
    (
        "where placeholder",
        [change("elements.where", "tidak ada")],
        {("elements.where", "not_meaningful")},
    ),
    ("how dots", [change("elements.how", "...")], {("elements.how", "not_meaningful")}),
    ("when missing", [change("elements.when", ...)], {("elements.when", "required")}),
    (
        "when date future",
        [change("elements.when", {"kind": "date", "date": FUTURE})],
        {("elements.when.date", "not_in_future")},
    ),
    (
        "when period reversed",
        [change("elements.when", {"kind": "period", "start": "2026-10-05", "end": "2026-10-01"})],
        {("elements.when.end", "period_order")},
    ),
    (
        "when approximate placeholder",
        [change("elements.when", {"kind": "approximate", "description": "-"})],
        {("elements.when.description", "not_meaningful")},
    ),
    (
        "when kind unknown",
        [change("elements.when", {"kind": "someday"})],
        {("elements.when", "union_tag_invalid")},
    ),
    (
        "when bad date",
        [change("elements.when", {"kind": "date", "date": "20-11-2026"})],
        {("elements.when.date", "date_from_datetime_parsing")},
    ),
    (
        "when period start not a date",
        [change("elements.when", {"kind": "period", "start": "kemarin", "end": "2026-10-01"})],
        {("elements.when.start", "date_from_datetime_parsing")},
    ),
    (
        "when kind missing",
        [change("elements.when", {"date": "2026-10-01"})],
        {("elements.when", "union_tag_not_found")},
    ),
    (
        "who name missing",
        [change("elements.who", [{"position": "Pemeriksa"}])],
        {("elements.who.0.name", "required")},
    ),
    (
        "who nip",
        [change("elements.who", [{"name": "Budi", "nip": "1980"}])],
        {("elements.who.0.nip", "nip_format")},
    ),
    (
        "channel other needs description",
        [change("channel", "other")],
        {("channel_description", "required")},
    ),
    ("channel unknown", [change("channel", "pigeon")], {("channel", "enum")}),
    (
        "received in future",
        [change("received_at", (datetime.now(UTC) + timedelta(hours=2)).isoformat())],
        {("received_at", "not_in_future")},
    ),
    (
        "received in 1999",
        [change("received_at", "1999-11-20T10:00:00+07:00")],
        {("received_at", "too_old")},
    ),
    (
        "received longer ago than the setting allows",
        [change("received_at", (datetime.now(UTC) - timedelta(days=31)).isoformat())],
        {("received_at", "too_old")},
    ),
    (
        "received in year one at +14:00 (no UTC form: was a 500)",
        [change("received_at", "0001-01-01T00:00:00+14:00")],
        {("received_at", "too_old")},
    ),
    (
        "received not a time",
        [change("received_at", "kemarin")],
        {("received_at", "datetime_from_date_parsing")},
    ),
    (
        "received without zone",
        [change("received_at", "2026-11-20T10:00:00")],
        {("received_at", "timezone_aware")},
    ),
    (
        "received as a number (would be read as Unix seconds)",
        [change("received_at", 1795853163)],
        {("received_at", "datetime_type")},
    ),
    ("unknown top-level field", [change("priority", "high")], {("priority", "extra_forbidden")}),
    (
        "unknown nested field",
        [change("complainant.age", 40)],
        {("complainant.age", "extra_forbidden")},
    ),
    (
        "tracking contact empty",
        [change("tracking_contact", {})],
        {("tracking_contact", "email_or_mobile")},
    ),
    (
        "tracking language unknown",
        [change("tracking_contact", {"email": "ayu@example.co.id", "language": "jv"})],
        {("tracking_contact.language", "enum")},
    ),
    ("name not text", [change("complainant.name", 42)], {("complainant.name", "string_type")}),
    ("who not a list", [change("elements.who", "Budi")], {("elements.who", "list_type")}),
    (
        "too many reported employees",
        [change("elements.who", [{"name": "Budi"}] * 51)],
        {("elements.who", "too_long")},
    ),
    ("channel missing", [change("channel", ...)], {("channel", "missing")}),
    (
        "office code too long",
        [change("office_code", "K" * 65)],
        {("office_code", "string_too_long")},
    ),
    (
        "what too long",
        [change("elements.what", "a" * 10_001)],
        {("elements.what", "string_too_long")},
    ),
    (
        "complainant not an object",
        [change("complainant", "Ayu")],
        {("complainant", "model_attributes_type")},
    ),
    (
        "every missing element named at once",
        [change("elements", {"who": []})],
        {
            ("elements.what", "required"),
            ("elements.when", "required"),
            ("elements.where", "required"),
            ("elements.how", "required"),
        },
    ),
]


async def test_every_complaint_rule_answers_422_and_publishes_nothing(settings) -> None:
    async with running_intake(settings) as client:
        for label, changes, expected in CASES:
            body = copy.deepcopy(complaint())
            for apply in changes:
                apply(body)
            answer = await client.post("/v1/complaints", json=body, headers=auth())
            assert answer.status_code == 422, (label, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            problem = answer.json()
            assert problem["status"] == 422 and problem["type"].startswith("urn:sipuma:problem")
            got = {(e["name"], e["code"]) for e in problem["invalid-params"]}
            assert expected <= got, (label, got)
            for error in problem["invalid-params"]:
                in_our_words(label, error)

        broken = await client.post(
            "/v1/complaints",
            content=b'{"channel": "in_person",',
            headers={**auth(), "content-type": "application/json"},
        )
        assert broken.status_code == 400
        assert broken.json()["code"] == "json_invalid"

    assert await read_to_end(settings.kafka_bootstrap, settings.topic_complaint_received) == []


# pydantic's own English begins like this; our texts never do.
RAW_PYDANTIC = re.compile(r"^(Input should|Field required|Extra inputs|String should|Value error)")
NAMES = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")


def in_our_words(label: str, error: dict[str, Any]) -> None:
    """A field named as the API names it (no pydantic variant tag such as `when.date.date`),
    both languages present, and English in our wording, not pydantic's."""
    name, texts = error["name"], error["messages"]
    assert NAMES.match(name) and ".date.date" not in name, (label, name)
    assert not name.startswith(("body.", "path.", "header.", "query.")), (label, name)
    assert texts["id"] and texts["en"] and texts["id"] != texts["en"], (label, texts)
    assert error["reason"] == texts["id"], label
    assert not RAW_PYDANTIC.match(texts["en"]), (label, texts["en"])


async def test_strict_completeness_rule_needs_phone_and_email(settings) -> None:
    strict = settings.model_copy(update={"completeness_rule": CompletenessRule.STRICT})
    async with running_intake(strict) as client:
        body = complaint()
        del body["complainant"]["email"]
        answer = await client.post("/v1/complaints", json=body, headers=auth())
        assert answer.status_code == 422
        errors = {(e["name"], e["code"]) for e in answer.json()["invalid-params"]}
        assert errors == {("complainant.email", "required_strict")}
        assert "PER-13/BC/2025" in answer.json()["invalid-params"][0]["messages"]["id"]
    assert await read_to_end(settings.kafka_bootstrap, settings.topic_complaint_received) == []


async def test_unknown_office_of_the_officer_is_refused(settings) -> None:
    async with running_intake(settings) as client:
        body = complaint(office_code="KPPBC-NOWHERE")
        answer = await client.post("/v1/complaints", json=body, headers=auth("KPPBC-NOWHERE"))
        assert answer.status_code == 422
        assert {(e["name"], e["code"]) for e in answer.json()["invalid-params"]} == {
            ("office_code", "unknown_office")
        }


async def test_bodies_over_the_limit_get_413(settings) -> None:
    small = settings.model_copy(update={"max_body_bytes": 4096})
    async with running_intake(small) as client:
        body = complaint()
        body["elements"]["what"] = "Uraian panjang. " * 400
        answer = await client.post("/v1/complaints", json=body, headers=auth())
        assert answer.status_code == 413
        assert answer.json()["code"] == "payload_too_large"
        assert "4096" in answer.json()["messages"]["id"]

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b" " * 1000

        chunked = await client.post(
            "/v1/complaints",
            content=chunks(),
            headers={**auth(), "content-type": "application/json"},
        )
        assert chunked.status_code == 413
    assert await read_to_end(settings.kafka_bootstrap, settings.topic_complaint_received) == []


AMEND_CASES: list[tuple[str, str, str, Body, set[tuple[str, str]]]] = [
    (
        "correction needs reason and part",
        "post",
        "supplements",
        {"kind": "correction", "text": "Tanggal yang benar 21 November."},
        {("reason", "required"), ("corrects", "required")},
    ),
    (
        "addition placeholder",
        "post",
        "supplements",
        {"kind": "addition", "text": "-"},
        {("text", "not_meaningful")},
    ),
    (
        "supplement kind unknown",
        "post",
        "supplements",
        {"kind": "note", "text": "Tambahan"},
        {("kind", "enum")},
    ),
    (
        "supplement unknown field",
        "post",
        "supplements",
        {"kind": "addition", "text": "Tambahan saksi", "by": "x"},
        {("by", "extra_forbidden")},
    ),
    ("no employees", "post", "reported-employees", {"employees": []}, {("employees", "required")}),
    (
        "employee nip",
        "post",
        "reported-employees",
        {"employees": [{"name": "Budi", "nip": "19800101"}]},
        {("employees.0.nip", "nip_format")},
    ),
    ("contact empty", "put", "tracking-contact", {}, {("body", "email_or_mobile")}),
    ("contact e-mail", "put", "tracking-contact", {"email": "x@"}, {("email", "email_invalid")}),
    (
        "contact landline",
        "put",
        "tracking-contact",
        {"mobile": "(021) 555-1234"},
        {("mobile", "mobile_landline")},
    ),
    (
        "contact toll-free",
        "put",
        "tracking-contact",
        {"mobile": "0800 1234 567"},
        {("mobile", "mobile_toll_free")},
    ),
    (
        "every contact channel refused",
        "put",
        "tracking-contact",
        {"email": "x@", "mobile": "021 555 1234"},
        {("email", "email_invalid"), ("mobile", "mobile_landline")},
    ),
    (
        "outcome unknown",
        "post",
        "register-number-communication",
        {"outcome": "maybe"},
        {("outcome", "enum")},
    ),
    (
        "note too long",
        "post",
        "register-number-communication",
        {"outcome": "told", "method": "sms", "note": "x" * 1001},
        {("note", "string_too_long")},
    ),
    (
        "told without method",
        "post",
        "register-number-communication",
        {"outcome": "told"},
        {("method", "required")},
    ),
    (
        "unreachable without reason",
        "post",
        "register-number-communication",
        {"outcome": "unreachable"},
        {("reason", "required")},
    ),
    (
        "told with a reason",
        "post",
        "register-number-communication",
        {"outcome": "told", "method": "telephone", "reason": "not_answering"},
        {("reason", "not_applicable")},
    ),
    (
        "unreachable with a method",
        "post",
        "register-number-communication",
        {"outcome": "unreachable", "reason": "no_contact_left", "method": "sms"},
        {("method", "not_applicable")},
    ),
]


async def test_every_amendment_rule_answers_422_and_publishes_nothing(
    settings, registry: RegistryDouble
) -> None:
    async with running_intake(settings) as client, registry.running():
        created = await client.post("/v1/complaints", json=complaint(), headers=auth())
        assert created.status_code == 201
        cid = created.json()["complaint_id"]
        for label, method, path, body, expected in AMEND_CASES:
            answer = await client.request(
                method.upper(), f"/v1/complaints/{cid}/{path}", json=body, headers=auth()
            )
            assert answer.status_code == 422, (label, answer.text)
            got = {(e["name"], e["code"]) for e in answer.json()["invalid-params"]}
            assert expected <= got, (label, got)
            for error in answer.json()["invalid-params"]:
                in_our_words(label, error)
        too_long_key = await client.post(
            f"/v1/complaints/{cid}/supplements",
            json={"kind": "addition", "text": "Saksi lain."},
            headers={**auth(), "Idempotency-Key": "k" * 201},
        )
        assert too_long_key.status_code == 422
        [param] = too_long_key.json()["invalid-params"]
        assert (param["name"], param["code"]) == ("Idempotency-Key", "string_too_long")
        in_our_words("Idempotency-Key", param)

    for topic in (
        settings.topic_complaint_supplemented,
        settings.topic_contact_provided,
        settings.topic_register_number_communicated,
    ):
        assert await read_to_end(settings.kafka_bootstrap, topic) == [], topic
