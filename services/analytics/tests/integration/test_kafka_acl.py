"""The broker, not only the consumer's code, keeps analytics away from the restricted topics: a
private single broker (the cached Kafka jars, as tests/chaos) with SASL/PLAIN and the KRaft
`StandardAuthorizer` (`allow.everyone.if.no.acl.found=false`), the ACLs of docs/analytics.md
(principal `User:analytics`: READ and DESCRIBE on each analytics topic by its literal name, nothing
else), and a record on every topic. The analytics principal reads every analytics topic and is
refused every restricted one; it cannot write either. The shared broker (no auth) is not touched.
kafka-python is used for its admin API (aiokafka has no ACL calls)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    NewTopic,
    ResourcePattern,
    ResourceType,
)
from kafka.errors import KafkaError

from services.intake.tests.kafka_process import ThrowawayKafka, available
from sipuma.analytics.subscription import analytics_topics
from sipuma.shared import topics
from sipuma.shared.settings import ServiceSettings
from tests.harness.state import eventually_sync

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not available(), reason="Kafka jars not cached (deploy/local/infra.sh up)"),
]

PASSWORDS = {"admin": "admin-secret-0123", "analytics": "analytics-secret-0123"}
JAAS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    f'username="admin" password="{PASSWORDS["admin"]}" '
    + " ".join(f'user_{user}="{password}"' for user, password in PASSWORDS.items())
    + ";"
)
SASL = {
    # The client listener needs SASL/PLAIN; the controller listener stays PLAINTEXT on its own
    # port (its ANONYMOUS principal is the node itself, hence a super user).
    "listeners": "SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}",
    "advertised.listeners": "SASL_PLAINTEXT://127.0.0.1:{port}",
    "inter.broker.listener.name": "SASL_PLAINTEXT",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
    "sasl.enabled.mechanisms": "PLAIN",
    "sasl.mechanism.inter.broker.protocol": "PLAIN",
    "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "allow.everyone.if.no.acl.found": "false",
    "super.users": "User:admin;User:ANONYMOUS",
    "num.partitions": "1",
    "auto.create.topics.enable": "false",
}


def analytics_acls(names: list[str], principal: str = "User:analytics") -> list[ACL]:
    """docs/analytics.md "Kafka ACLs": READ and DESCRIBE on each analytics topic, LITERAL names
    (a prefixed `sipuma.complaint.` would match the restricted `sipuma.complaint.received.v1`)."""
    return [
        ACL(
            principal=principal,
            host="*",
            operation=operation,
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(
                ResourceType.TOPIC, name, ACLResourcePatternType.LITERAL
            ),
        )
        for name in names
        for operation in (ACLOperation.READ, ACLOperation.DESCRIBE)
    ]


def client(bootstrap: str, user: str) -> dict[str, Any]:
    return {
        "bootstrap_servers": bootstrap,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": user,
        "sasl_plain_password": PASSWORDS[user],
    }


@pytest.fixture
def secured_kafka(tmp_path: Path) -> Iterator[ThrowawayKafka]:
    kafka = ThrowawayKafka(tmp_path / "kafka")
    port, cport = kafka.port, kafka.controller_port
    lines = [
        line
        for line in kafka.conf.read_text().splitlines()
        if line.split("=", 1)[0].strip() not in SASL
    ]
    lines += [f"{key}={value.format(port=port, cport=cport)}" for key, value in SASL.items()]
    kafka.conf.write_text("\n".join(lines) + "\n")
    kafka.start()
    try:
        yield kafka
    finally:
        kafka.stop()


def _read(consumer: KafkaConsumer) -> list[Any] | None:
    found = consumer.poll(timeout_ms=500)
    return [r for records in found.values() for r in records] or None


def _refused(consumer: KafkaConsumer, name: str) -> bool | None:
    # kafka-python logs the broker's TOPIC_AUTHORIZATION_FAILED for a fetch's metadata and keeps
    # the topic in the cluster view's `unauthorized_topics` (no public accessor), rather than
    # raising from poll.
    found = consumer.poll(timeout_ms=500)
    assert not found, f"the analytics principal read a restricted topic: {found}"
    return name in consumer._client.cluster.unauthorized_topics or None


def test_the_analytics_principal_reads_only_the_analytics_topics(
    secured_kafka: ThrowawayKafka,
) -> None:
    bootstrap = secured_kafka.bootstrap
    names = analytics_topics(ServiceSettings(topic_prefix=""))  # what the consumer reads
    everything = [spec.name for spec in topics.ALL_TOPICS]
    restricted = sorted(set(everything) - set(names))
    assert restricted and "sipuma.complaint.received.v1" in restricted

    admin = KafkaAdminClient(**client(bootstrap, "admin"))
    try:
        admin.create_topics([NewTopic(name, 1, 1) for name in everything])
        created = admin.create_acls(analytics_acls(names))
        assert not created["failed"], created["failed"]
    finally:
        admin.close()
    producer = KafkaProducer(**client(bootstrap, "admin"), acks="all")
    try:
        for name in everything:
            producer.send(name, key=b"k", value=name.encode())
        producer.flush()
    finally:
        producer.close()

    # Metadata: the analytics principal does not even see a restricted topic.
    lister = KafkaConsumer(**client(bootstrap, "analytics"))
    try:
        assert lister.topics() == set(names)
    finally:
        lister.close()
    for name in names:  # allowed: its one record
        reader = KafkaConsumer(**client(bootstrap, "analytics"), auto_offset_reset="earliest")
        try:
            reader.assign([TopicPartition(name, 0)])
            got = eventually_sync(f"analytics reads {name}", partial(_read, reader), 60)
            assert [r.value for r in got] == [name.encode()]
        finally:
            reader.close()
    for name in restricted:  # refused by the broker
        reader = KafkaConsumer(**client(bootstrap, "analytics"), auto_offset_reset="earliest")
        try:
            reader.assign([TopicPartition(name, 0)])
            eventually_sync(f"{name} refused to analytics", partial(_refused, reader, name), 60)
        finally:
            reader.close()

    # Nor can it write, even to an analytics topic.
    writer = KafkaProducer(**client(bootstrap, "analytics"), max_block_ms=10_000)
    try:
        with pytest.raises(KafkaError, match=re.compile("Authorization", re.I)):
            writer.send(names[0], value=b"x").get(timeout=30)
    finally:
        writer.close()
