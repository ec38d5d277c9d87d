"""Kafka topics: explicit, versioned names (never derived from class names) and who uses them.

Restricted topics may carry personal data and are readable only by the pipeline"s services;
every other topic is an analytics topic and must never carry an event that has personal data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sipuma.shared import events as ev

# Here, not in topic_admin: settings read it, and settings must not load the Kafka client.
DEFAULT_RETENTION_MS = 30 * 24 * 3600 * 1000  # 30 days: the registry, not Kafka, keeps history


@dataclass(frozen=True)
class TopicSpec:
    name: str
    restricted: bool
    event_types: tuple[type[ev.Event], ...]
    producers: tuple[str, ...] = ()
    consumers: tuple[str, ...] = ()
    description: str = ""

    def accepts(self, event_type: str) -> bool:
        return any(event_type == cls.TYPE for cls in self.event_types)


COMPLAINT_RECEIVED = TopicSpec(
    name="sipuma.complaint.received.v1",
    restricted=True,
    event_types=(ev.ComplaintReceived,),
    producers=("intake",),
    consumers=("registry", "evidence", "intake"),
    description="Complaints as recorded by receivers, with complainant identity.",
)
COMPLAINT_SUPPLEMENTED = TopicSpec(
    name="sipuma.complaint.supplemented.v1",
    restricted=True,
    event_types=(ev.ComplaintSupplemented,),
    producers=("intake",),
    consumers=("registry",),
    description="Additions, corrections and reported employees added after the first save.",
)
CONTACT_PROVIDED = TopicSpec(
    name="sipuma.complaint.contact-provided.v1",
    restricted=True,
    event_types=(ev.TrackingContactProvided,),
    producers=("intake",),
    consumers=("registry",),
    description="E-mail / mobile the complainant gave to follow the complaint.",
)
REGISTER_NUMBER_COMMUNICATED = TopicSpec(
    name="sipuma.complaint.register-number-communicated.v1",
    restricted=True,
    event_types=(ev.RegisterNumberCommunicated,),
    producers=("intake",),
    consumers=("registry",),
    description="Whether the register number reached the complainant.",
)
TICKET_ISSUED = TopicSpec(
    name="sipuma.ticket.issued.v1",
    restricted=True,
    event_types=(ev.TicketIssued,),
    producers=("registry",),
    consumers=(),
    description="Ticket numbers with the contact to send them to.",
)
COMPLAINT_REGISTERED = TopicSpec(
    name="sipuma.complaint.registered.v1",
    restricted=False,
    event_types=(ev.ComplaintRegistered,),
    producers=("registry",),
    consumers=("intake", "evidence"),
    description="Register numbers given (analytics).",
)
COMPLAINT_STATUS_CHANGED = TopicSpec(
    name="sipuma.complaint.status-changed.v1",
    restricted=False,
    event_types=(ev.ComplaintStatusChanged,),
    producers=("registry",),
    consumers=(),
    description="Follow-up status changes, without staff notes (analytics).",
)
COMPLAINT_IDENTITY_ERASED = TopicSpec(
    name="sipuma.complaint.identity-erased.v1",
    restricted=False,
    event_types=(ev.ComplaintIdentityErased,),
    producers=("registry",),
    consumers=("notifier", "evidence"),
    description="A complainant's identity erased (its data key deleted); no personal data.",
)
COMPLAINT_DUPLICATES_HINTED = TopicSpec(
    name="sipuma.complaint.duplicates-hinted.v1",
    restricted=True,
    event_types=(ev.ComplaintDuplicatesHinted,),
    producers=("registry",),
    consumers=("intake",),
    description="Possible-duplicate hint of a numbered complaint (restricted: links filings).",
)
AUDIT_IDENTITY_READ = TopicSpec(
    name="sipuma.audit.identity-read.v1",
    restricted=True,
    event_types=(ev.IdentityRead,),
    producers=("registry", "evidence"),
    consumers=(),
    description="Who was shown a complainant's identity (audit; restricted).",
)
EVIDENCE_STORED = TopicSpec(
    name="sipuma.evidence.stored.v1",
    restricted=False,
    event_types=(ev.EvidenceStored,),
    producers=("evidence",),
    consumers=("registry",),
    description="Metadata of stored supporting data (analytics).",
)
NOTIFICATION_SENT = TopicSpec(
    name="sipuma.notification.sent.v1",
    restricted=False,
    event_types=(ev.NotificationSent,),
    producers=("notifier",),
    consumers=("registry",),
    description="Ticket notifications delivered, per channel (analytics).",
)
NOTIFICATION_FAILED = TopicSpec(
    name="sipuma.notification.failed.v1",
    restricted=False,
    event_types=(ev.NotificationFailed,),
    producers=("notifier",),
    consumers=("registry",),
    description="Ticket notifications that failed, per channel (analytics).",
)

DEADLINE_APPROACHING = TopicSpec(
    name="sipuma.complaint.deadline-approaching.v1",
    restricted=False,
    event_types=(ev.ComplaintDeadlineApproaching,),
    producers=("registry",),
    consumers=("notifier",),
    description="A follow-up stage's working-day deadline is near (analytics).",
)
COMPLAINT_OVERDUE = TopicSpec(
    name="sipuma.complaint.overdue.v1",
    restricted=False,
    event_types=(ev.ComplaintOverdue,),
    producers=("registry",),
    consumers=("notifier",),
    description="A follow-up stage's deadline passed; escalation level (analytics).",
)
COMPLAINT_CATEGORISED = TopicSpec(
    name="sipuma.complaint.categorised.v1",
    restricted=False,
    event_types=(ev.ComplaintCategorised,),
    producers=("registry",),
    consumers=(),
    description="A complaint's category set or changed by compliance staff (analytics).",
)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    COMPLAINT_RECEIVED,
    COMPLAINT_SUPPLEMENTED,
    CONTACT_PROVIDED,
    REGISTER_NUMBER_COMMUNICATED,
    TICKET_ISSUED,
    COMPLAINT_REGISTERED,
    COMPLAINT_STATUS_CHANGED,
    COMPLAINT_IDENTITY_ERASED,
    COMPLAINT_DUPLICATES_HINTED,
    AUDIT_IDENTITY_READ,
    EVIDENCE_STORED,
    NOTIFICATION_SENT,
    NOTIFICATION_FAILED,
    DEADLINE_APPROACHING,
    COMPLAINT_OVERDUE,
    COMPLAINT_CATEGORISED,
)
ANALYTICS_TOPICS: tuple[TopicSpec, ...] = tuple(spec for spec in ALL_TOPICS if not spec.restricted)
BY_NAME: dict[str, TopicSpec] = {spec.name: spec for spec in ALL_TOPICS}


def dead_letter_topic(group: str) -> str:
    """One dead-letter topic per consumer group; restricted (it holds whatever was refused).
    The contract name, of the group without the deployment's prefix: the prefix goes in front,
    like every topic's (`ServiceSettings.dead_letter_topic`)."""
    return f"sipuma.dead-letter.{group}.v1"


def dead_letter_spec(group: str) -> TopicSpec:
    return TopicSpec(dead_letter_topic(group), True, (), description=f"Refused by {group}")


def topic_for(event: ev.Event | type[ev.Event]) -> TopicSpec:
    """The one topic an event type is published to."""
    matches = [spec for spec in ALL_TOPICS if spec.accepts(event.TYPE)]
    if len(matches) != 1:
        raise LookupError(f"{event.TYPE} is on {len(matches)} topics, expected exactly one")
    return matches[0]


def topic_problems(specs: Iterable[TopicSpec] = ALL_TOPICS) -> list[str]:
    """Everything wrong with a topic list; empty when it is sound."""
    problems: list[str] = []
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            problems.append(f"{spec.name}: declared twice")
        seen.add(spec.name)
        # An isolation prefix (tests, staging: `<prefix>sipuma.…`) may stand before the name.
        _, marker, _ = spec.name.partition("sipuma.")
        if not marker or not spec.name.rsplit(".", 1)[-1][1:].isdigit():
            problems.append(f"{spec.name}: not a versioned [prefix]sipuma.*.vN name")
        for cls in spec.event_types:
            if cls.carries_personal_data and not spec.restricted:
                problems.append(f"{spec.name}: {cls.TYPE} carries personal data, topic is open")
    return problems


def check_topics(specs: Iterable[TopicSpec] = ALL_TOPICS) -> None:
    if problems := topic_problems(specs):
        raise ValueError("; ".join(problems))


def declared_spec(topic: str) -> TopicSpec | None:
    """The declared topic behind a name, also when the name carries an isolation prefix."""
    if topic in BY_NAME:
        return BY_NAME[topic]
    return next((spec for spec in ALL_TOPICS if topic.endswith(spec.name)), None)


def check_publishable(event: ev.Event, topic: TopicSpec | str) -> None:
    """Refuse to put an event on a topic that is not declared for it (or not restricted enough).
    A plain name must be a declared topic, possibly behind a prefix (tests and staging isolate
    themselves with `<prefix>sipuma.…`), unless the event has no personal data."""
    spec = declared_spec(topic) if isinstance(topic, str) else topic
    if spec is None:
        if event.carries_personal_data:
            raise ValueError(f"{event.TYPE} carries personal data; {topic} is not a known topic")
        return
    if not spec.accepts(event.TYPE):
        raise ValueError(f"{spec.name} does not carry {event.TYPE}")
    check_topics([spec])
