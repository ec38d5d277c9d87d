"""The consumer's subscription by construction, and the additive-change rule it relies on."""

from __future__ import annotations

import copy

import pytest

from sipuma.analytics.subscription import RestrictedTopic, analytics_topics, check_subscription
from sipuma.shared import events as ev
from sipuma.shared import topics
from sipuma.shared.schema_compat import breaking_changes
from sipuma.shared.settings import ServiceSettings

pytestmark = pytest.mark.unit


def test_subscribes_to_every_analytics_topic_and_no_restricted_one() -> None:
    names = analytics_topics(ServiceSettings(topic_prefix="x."))
    assert names == ["x." + s.name for s in topics.ALL_TOPICS if not s.restricted]
    for spec in topics.ALL_TOPICS:
        if spec.restricted:
            with pytest.raises(RestrictedTopic):
                check_subscription(["x." + spec.name], "x.")
    for odd in ["sipuma.dead-letter.registry.v1", "y.sipuma.complaint.registered.v1", "other"]:
        with pytest.raises(RestrictedTopic):
            check_subscription([odd], "x.")
    # Everything it may read is free of personal data by contract.
    assert not [
        c for s in topics.ANALYTICS_TOPICS for c in s.event_types if c.carries_personal_data
    ]


def test_an_added_optional_field_is_not_breaking() -> None:
    old = ev.ComplaintRegistered.model_json_schema()
    new = copy.deepcopy(old)
    new["properties"]["priority_hint"] = {"type": ["string", "null"], "default": None}
    assert breaking_changes(old, new) == []
    required = copy.deepcopy(new)
    required["required"] = [*required.get("required", []), "priority_hint"]
    assert breaking_changes(old, required)  # a required one would be


def test_the_reader_ignores_an_unknown_field() -> None:
    from sipuma.shared.samples import example

    body = example(ev.ComplaintRegistered).model_dump_json()[:-1] + ',"priority_hint":"x"}'
    parsed = ev.parse_event(ev.ComplaintRegistered.TYPE, body)
    assert parsed.event_type == ev.ComplaintRegistered.TYPE
