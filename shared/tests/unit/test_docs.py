"""The committed contract docs under docs/ are current, complete and compatible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sipuma.shared import docs_gen
from sipuma.shared.events import ALL_EVENTS
from sipuma.shared.topics import ALL_TOPICS

pytestmark = pytest.mark.unit
DOCS = Path(__file__).resolve().parents[3] / "docs"
HOW = "run `make docs` (python -m sipuma.shared.docs_gen) and commit docs/"


def test_committed_docs_are_not_stale() -> None:
    stale = docs_gen.stale(DOCS)
    assert stale == [], f"stale: {stale}; {HOW}"


def test_current_models_are_compatible_with_committed_schemas() -> None:
    problems = docs_gen.incompatibilities(DOCS)
    assert problems == [], (
        "breaking changes; add a new versioned event type and topic instead:\n"
        + "\n".join(problems)
    )


def test_one_schema_per_event_with_its_type() -> None:
    for cls in ALL_EVENTS:
        schema = json.loads((DOCS / "schemas" / f"{cls.TYPE}.json").read_text("utf-8"))
        assert schema["x-sipuma-event-type"] == cls.TYPE
        assert schema["properties"]["event_type"]["const"] == cls.TYPE
        assert schema["x-sipuma-personal-data"] is cls.carries_personal_data


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            r for k, v in node.items() if k != "$ref" for r in _refs(v)
        ]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def test_asyncapi_document_is_complete_and_resolvable() -> None:
    doc = yaml.safe_load((DOCS / "asyncapi.yaml").read_text("utf-8"))
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in doc["channels"].values()}
    assert {spec.name for spec in ALL_TOPICS} <= addresses
    assert set(doc["components"]["messages"]) == {cls.__name__ for cls in ALL_EVENTS}
    for ref in _refs(doc):
        target = doc
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
    sends = {
        (o["x-sipuma-service"], o["channel"]["$ref"].rsplit("/", 1)[-1])
        for o in doc["operations"].values()
        if o["action"] == "send"
    }
    assert ("intake", "complaint-received-v1") in sends
    assert ("registry", "ticket-issued-v1") in sends
    assert ("evidence", "evidence-stored-v1") in sends
    assert ("notifier", "notification-failed-v1") in sends


def test_generator_refuses_to_overwrite_with_a_breaking_change(tmp_path: Path) -> None:
    docs_gen.write(tmp_path)
    path = tmp_path / "schemas" / "sipuma.complaint.registered.v1.json"
    schema = json.loads(path.read_text("utf-8"))
    schema["properties"]["retired_field"] = {"type": "string"}  # as if the model had dropped it
    path.write_text(json.dumps(schema), "utf-8")
    with pytest.raises(SystemExit, match="retired_field"):
        docs_gen.write(tmp_path)
    assert docs_gen.main(["--docs", str(tmp_path), "--check"]) == 1
    docs_gen.write(tmp_path, allow_breaking=True)
    assert docs_gen.main(["--docs", str(tmp_path), "--check"]) == 0
