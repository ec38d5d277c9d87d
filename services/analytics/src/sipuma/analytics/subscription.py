"""Which topics the analytics consumer reads: the analytics topics and nothing else.

By construction: the list is `shared.topics.ANALYTICS_TOPICS` (every topic not declared
restricted; `topics.check_topics` already refuses an open topic for an event with personal data),
and `check_subscription` refuses any name that is a restricted or an undeclared topic, so a
misconfigured prefix or an added name cannot make it read complaint identities or contacts.
"""

from __future__ import annotations

from collections.abc import Iterable

from sipuma.shared import events as ev
from sipuma.shared import topics
from sipuma.shared.settings import ServiceSettings


class RestrictedTopic(ValueError):
    """The consumer was asked to read a topic that may carry personal data."""


def check_subscription(names: Iterable[str], prefix: str = "") -> list[str]:
    checked = []
    for name in names:
        spec = topics.BY_NAME.get(name.removeprefix(prefix)) if name.startswith(prefix) else None
        if spec is None or spec.restricted:
            raise RestrictedTopic(f"{name} is not an analytics topic")
        checked.append(name)
    return checked


def analytics_topics(settings: ServiceSettings) -> list[str]:
    names = [settings.topic(spec) for spec in topics.ANALYTICS_TOPICS]
    return check_subscription(names, settings.topic_prefix)


def accepted_events() -> tuple[type[ev.Event], ...]:
    return tuple(cls for spec in topics.ANALYTICS_TOPICS for cls in spec.event_types)
