"""The system's AsyncAPI 3.0 document, built from `events.py` and `topics.py` (the only sources):
channels are topics, messages are events, operations say which service sends or receives."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from sipuma.shared import cloudevents
from sipuma.shared.events import ALL_EVENTS, Event
from sipuma.shared.samples import example
from sipuma.shared.topics import ALL_TOPICS, DEFAULT_RETENTION_MS, TopicSpec, dead_letter_topic

KAFKA_BINDING = "0.5.0"
CE_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents Kafka binding, binary mode; values are UTF-8 strings.",
    "required": [*cloudevents.REQUIRED, "content-type"],
    "properties": {
        "ce_specversion": {"const": cloudevents.SPECVERSION},
        "ce_id": {"type": "string", "format": "uuid", "description": "= event_id"},
        "ce_type": {"type": "string", "description": "= event_type"},
        "ce_source": {"type": "string", "description": "/sipuma/<producing service>"},
        "ce_time": {"type": "string", "format": "date-time", "description": "= occurred_at"},
        "ce_subject": {"type": "string", "format": "uuid", "description": "= complaint_id"},
        "content-type": {"const": cloudevents.CONTENT_TYPE},
        "correlation_id": {"type": "string", "description": "= correlation_id"},
    },
}


def _channel_id(spec: TopicSpec) -> str:
    return spec.name.removeprefix("sipuma.").replace(".", "-")


def _doc(cls: type[Event]) -> str:
    return " ".join((cls.__doc__ or "").split())


def _message(cls: type[Event]) -> dict[str, Any]:
    sample = example(cls)
    return {
        "name": cls.TYPE,
        "title": cls.__name__,
        "summary": _doc(cls),
        "contentType": cloudevents.CONTENT_TYPE,
        "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
        "payload": {"$ref": f"#/components/schemas/{cls.__name__}"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "format": "uuid", "description": "complaint_id"},
                "bindingVersion": KAFKA_BINDING,
            }
        },
        "examples": [
            {
                "name": "example",
                "summary": "Invented data",
                "headers": cloudevents.to_headers(sample),
                "payload": sample.model_dump(mode="json"),
            }
        ],
        "x-sipuma-personal-data": cls.carries_personal_data,
    }


def _channel(spec: TopicSpec, partitions: int) -> dict[str, Any]:
    return {
        "address": spec.name,
        "title": spec.name,
        "description": spec.description
        + (" Restricted: may carry personal data." if spec.restricted else " Analytics topic."),
        "messages": {
            cls.__name__: {"$ref": f"#/components/messages/{cls.__name__}"}
            for cls in spec.event_types
        },
        "bindings": {
            "kafka": {
                "topic": spec.name,
                "partitions": partitions,
                "topicConfiguration": {"retention.ms": DEFAULT_RETENTION_MS},
                "bindingVersion": KAFKA_BINDING,
            }
        },
        "x-sipuma-restricted": spec.restricted,
    }


def _operations(spec: TopicSpec) -> dict[str, Any]:
    channel = _channel_id(spec)
    messages = [
        {"$ref": f"#/channels/{channel}/messages/{cls.__name__}"} for cls in spec.event_types
    ]
    operations: dict[str, Any] = {}
    for action, services in (("send", spec.producers), ("receive", spec.consumers)):
        for service in services:
            operation: dict[str, Any] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{channel}"},
                "messages": messages,
                "summary": f"{service} {action}s {', '.join(c.__name__ for c in spec.event_types)}",
                "x-sipuma-service": service,
            }
            if action == "receive":
                operation["bindings"] = {
                    "kafka": {
                        "groupId": {"type": "string", "enum": [service]},
                        "bindingVersion": KAFKA_BINDING,
                    }
                }
            operations[f"{service}.{action}.{channel}"] = operation
    return operations


def build_asyncapi(partitions: int = 6) -> dict[str, Any]:
    _, schemas = models_json_schema(
        [(cls, "validation") for cls in ALL_EVENTS], ref_template="#/components/schemas/{model}"
    )
    operations: dict[str, Any] = {}
    for spec in ALL_TOPICS:
        operations.update(_operations(spec))
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "SIPUMA events",
            "version": "1.0.0",
            "description": (
                "Events of the SIPUMA complaint pipeline (DJBC). Restricted channels may carry "
                "personal data and are read by pipeline services only; all other channels are "
                "analytics channels without personal data. Consumers ignore unknown fields; "
                "a version only grows (additive changes), a breaking change is a new versioned "
                "type on a new topic. Generated by `python -m sipuma.shared.docs_gen`."
            ),
        },
        "defaultContentType": cloudevents.CONTENT_TYPE,
        "servers": {
            "local": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "make up"}
        },
        "channels": {
            **{_channel_id(spec): _channel(spec, partitions) for spec in ALL_TOPICS},
            "dead-letter": {
                "address": dead_letter_topic("{groupId}"),
                "title": "dead letters per consumer group",
                "description": (
                    "Messages a consumer group refused (invalid event, or the handler gave up), "
                    "with the original value, key and headers plus x-sipuma-dead-letter-* "
                    "headers (reason, detail, topic, partition, offset, group, at). Restricted. "
                    "A deployment's topic prefix goes in front of this name, as of every "
                    "channel's; the group inside is named without it."
                ),
                "parameters": {
                    "groupId": {
                        "description": "Consumer group name without the deployment's prefix"
                    }
                },
                "x-sipuma-restricted": True,
            },
        },
        "operations": operations,
        "components": {
            "messages": {cls.__name__: _message(cls) for cls in ALL_EVENTS},
            "schemas": {"CloudEventHeaders": CE_HEADERS, **schemas["$defs"]},
        },
    }
