"""Topics: explicit versioned names; personal data only on restricted topics."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sipuma.shared import events as ev
from sipuma.shared import topics
from sipuma.shared.events import ALL_EVENTS
from sipuma.shared.samples import example
from sipuma.shared.settings import ServiceSettings
from sipuma.shared.topics import ALL_TOPICS, TopicSpec

pytestmark = pytest.mark.unit


def test_declared_topics_are_sound() -> None:
    assert topics.topic_problems() == []
    topics.check_topics()


def test_personal_data_event_on_an_open_topic_is_refused() -> None:
    leaky = TopicSpec("sipuma.analytics.leak.v1", restricted=False, event_types=(ev.TicketIssued,))
    problems = topics.topic_problems([leaky])
    assert problems and "personal data" in problems[0]
    with pytest.raises(ValueError, match="personal data"):
        topics.check_topics([leaky])


def test_unversioned_or_duplicate_names_are_refused() -> None:
    spec = TopicSpec("complaints", restricted=True, event_types=())
    assert any("versioned" in p for p in topics.topic_problems([spec]))
    assert any("twice" in p for p in topics.topic_problems([ALL_TOPICS[0], ALL_TOPICS[0]]))
    unversioned = TopicSpec("test-1.sipuma.complaints", restricted=True, event_types=())
    assert any("versioned" in p for p in topics.topic_problems([unversioned]))


def test_an_isolation_prefix_keeps_a_name_valid() -> None:
    prefixed = replace(topics.COMPLAINT_RECEIVED, name="test-1." + topics.COMPLAINT_RECEIVED.name)
    assert topics.topic_problems([prefixed]) == []


def test_every_event_has_exactly_one_topic_and_names_are_explicit() -> None:
    for cls in ALL_EVENTS:
        spec = topics.topic_for(cls)
        assert spec.accepts(cls.TYPE)
        assert cls.__name__.lower() not in spec.name  # never derived from the class name
    assert topics.COMPLAINT_RECEIVED.name == "sipuma.complaint.received.v1"
    assert topics.COMPLAINT_REGISTERED.name == "sipuma.complaint.registered.v1"


def test_analytics_topics_are_the_ones_the_issue_names() -> None:
    open_topics = {spec.name for spec in ALL_TOPICS if not spec.restricted}
    assert open_topics == {
        "sipuma.complaint.registered.v1",
        "sipuma.complaint.status-changed.v1",
        "sipuma.complaint.identity-erased.v1",  # issue 16: erasure, no personal data
        "sipuma.evidence.stored.v1",
        "sipuma.notification.sent.v1",
        "sipuma.notification.failed.v1",
        "sipuma.complaint.deadline-approaching.v1",  # issue 18
        "sipuma.complaint.overdue.v1",
        "sipuma.complaint.categorised.v1",  # issue 18: category codes, no reason text
    }
    assert {spec.name for spec in topics.ANALYTICS_TOPICS} == open_topics


def test_dead_letter_topic_per_group() -> None:
    assert topics.dead_letter_topic("registry") == "sipuma.dead-letter.registry.v1"
    assert topics.dead_letter_topic("notifier") != topics.dead_letter_topic("registry")
    assert topics.dead_letter_spec("registry").restricted


def test_a_deployment_prefixes_the_dead_letter_topic_like_every_topic() -> None:
    settings = ServiceSettings(topic_prefix="staging.", consumer_group="registry")
    assert settings.dead_letter_topic() == "staging.sipuma.dead-letter.registry.v1"
    assert settings.dead_letter_topic("notifier-staff") == (
        "staging.sipuma.dead-letter.notifier-staff.v1"
    )
    assert ServiceSettings(consumer_group="registry").dead_letter_topic() == (
        topics.dead_letter_topic("registry")  # production: the contract name, unchanged
    )


def test_check_publishable() -> None:
    topics.check_publishable(example(ev.TicketIssued), "sipuma.ticket.issued.v1")
    with pytest.raises(ValueError, match="does not carry"):
        topics.check_publishable(example(ev.TicketIssued), "sipuma.complaint.registered.v1")
    with pytest.raises(ValueError, match="personal data"):
        topics.check_publishable(example(ev.TicketIssued), "some-test-topic")
    topics.check_publishable(example(ev.ComplaintRegistered), "some-test-topic")


def test_services_named_in_topics() -> None:
    services = {s for spec in ALL_TOPICS for s in (*spec.producers, *spec.consumers)}
    assert services == {"intake", "registry", "evidence", "notifier"}
    registry_reads = {spec.name for spec in ALL_TOPICS if "registry" in spec.consumers}
    assert "sipuma.evidence.stored.v1" in registry_reads
    assert "sipuma.notification.failed.v1" in registry_reads


def test_prefixed_topic_names_keep_their_declared_rules() -> None:
    from sipuma.shared import events as ev
    from sipuma.shared import topics
    from sipuma.shared.samples import example

    received = example(ev.ComplaintReceived)
    topics.check_publishable(received, "t-abc123.sipuma.complaint.received.v1")
    with pytest.raises(ValueError, match="does not carry"):
        topics.check_publishable(received, "t-abc123.sipuma.complaint.registered.v1")
