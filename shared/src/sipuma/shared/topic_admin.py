"""Create the topics a service needs, with partitions, replication and retention from settings.

Idempotent: topics that exist are left as they are (also when another replica creates them at
the same moment). Services call it in their lifespan before the broker starts, so topics never
come into being through auto-creation with the broker's defaults.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from sipuma.shared.topics import DEFAULT_RETENTION_MS, TopicSpec, declared_spec

# Analytics topics keep everything (docs/analytics.md: a new team backfills from offset 0; ten
# years of every office is tens of GB). Applies when a topic is created; an existing one is
# changed with kafka-configs (docs/analytics.md).
ANALYTICS_RETENTION_MS = -1


async def ensure_topics(
    bootstrap: str,
    specs: Iterable[TopicSpec | str],
    *,
    partitions: int = 6,
    replication_factor: int = 1,
    retention_ms: int = DEFAULT_RETENTION_MS,
    min_insync_replicas: int | None = None,
) -> list[str]:
    """Create the missing topics; answer the names that were created."""
    names = sorted({spec if isinstance(spec, str) else spec.name for spec in specs})

    def config(name: str) -> dict[str, str]:
        spec = declared_spec(name)
        analytics = spec is not None and not spec.restricted
        found = {"retention.ms": str(ANALYTICS_RETENTION_MS if analytics else retention_ms)}
        if min_insync_replicas is not None:
            found["min.insync.replicas"] = str(min_insync_replicas)
        return found

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="sipuma-topic-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in names if name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [
                NewTopic(name, partitions, replication_factor, topic_configs=config(name))
                for name in missing
            ]
        )
        results = [(topic, code) for topic, code, *_ in response.topic_errors]
        failed = [
            f"{t} (error {c})" for t, c in results if c not in (0, TopicAlreadyExistsError.errno)
        ]
        if failed:
            raise RuntimeError("could not create topics: " + ", ".join(failed))
        return [topic for topic, code in results if code == 0]
    finally:
        await admin.close()
