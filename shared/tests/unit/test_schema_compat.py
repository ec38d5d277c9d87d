"""The compatibility checker: additive changes pass, breaking ones are named."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sipuma.shared import events as ev
from sipuma.shared.docs_gen import event_schema
from sipuma.shared.schema_compat import breaking_changes

pytestmark = pytest.mark.unit


@pytest.fixture
def old() -> dict[str, Any]:
    return event_schema(ev.ComplaintReceived)


def changed(schema: dict[str, Any], edit: Any) -> dict[str, Any]:
    new = copy.deepcopy(schema)
    edit(new)
    return new


def test_same_schema_is_compatible(old: dict[str, Any]) -> None:
    assert breaking_changes(old, copy.deepcopy(old)) == []


def test_new_optional_field_and_new_enum_value_are_additive(old: dict[str, Any]) -> None:
    def edit(s: dict[str, Any]) -> None:
        s["properties"]["language"] = {"type": "string", "default": "id"}
        s["$defs"]["Channel"]["enum"].append("whatsapp")
        s["$defs"]["ComplainantIdentity"]["properties"]["title"] = {"type": "string"}

    assert breaking_changes(old, changed(old, edit)) == []


def test_field_removed_or_renamed(old: dict[str, Any]) -> None:
    def rename(s: dict[str, Any]) -> None:
        s["properties"]["paper_archive"] = s["properties"].pop("paper_archive_ref")

    assert breaking_changes(old, changed(old, rename)) == [
        "paper_archive_ref: removed (or renamed)"
    ]


def test_nested_field_removed(old: dict[str, Any]) -> None:
    def edit(s: dict[str, Any]) -> None:
        del s["$defs"]["ComplainantIdentity"]["properties"]["nik"]

    assert breaking_changes(old, changed(old, edit)) == ["complainant.nik: removed (or renamed)"]


def test_field_retyped(old: dict[str, Any]) -> None:
    def edit(s: dict[str, Any]) -> None:
        s["properties"]["received_at"] = {"type": "integer"}

    problems = breaking_changes(old, changed(old, edit))
    assert len(problems) == 1 and problems[0].startswith("received_at: retyped")


def test_optional_made_non_nullable_is_retyped(old: dict[str, Any]) -> None:
    def edit(s: dict[str, Any]) -> None:
        s["properties"]["paper_archive_ref"] = {"type": "string", "maxLength": 200}

    assert any("retyped" in p for p in breaking_changes(old, changed(old, edit)))


def test_new_required_field(old: dict[str, Any]) -> None:
    def edit(s: dict[str, Any]) -> None:
        s["properties"]["priority"] = {"type": "integer"}
        s["required"].append("priority")

    assert breaking_changes(old, changed(old, edit)) == ["priority: new required field"]


def test_enum_value_removed_and_constraint_tightened(old: dict[str, Any]) -> None:
    def edit(s: dict[str, Any]) -> None:
        s["$defs"]["Channel"]["enum"].remove("fax")
        s["$defs"]["ComplainantIdentity"]["properties"]["address"]["anyOf"][0]["maxLength"] = 50

    problems = breaking_changes(old, changed(old, edit))
    assert "channel: enum values removed: ['fax']" in problems
    assert "complainant.address: maxLength tightened to 50" in problems


def test_event_type_constant_changed(old: dict[str, Any]) -> None:
    def edit(s: dict[str, Any]) -> None:
        s["properties"]["event_type"]["const"] = "sipuma.complaint.received.v2"
        s["properties"]["event_type"]["default"] = "sipuma.complaint.received.v2"

    assert any("constant changed" in p for p in breaking_changes(old, changed(old, edit)))


def test_union_branch_removed(old: dict[str, Any]) -> None:
    def edit(s: dict[str, Any]) -> None:
        when = s["$defs"]["ComplaintElements"]["properties"]["when"]["anyOf"][0]
        when["oneOf"] = [b for b in when["oneOf"] if "WhenApproximate" not in b["$ref"]]

    problems = breaking_changes(old, changed(old, edit))
    assert problems and all("elements.when" in p for p in problems)
