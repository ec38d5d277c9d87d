"""Redaction: personal data never reaches a log line, whatever logger wrote it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from sipuma.shared import events as ev
from sipuma.shared.logging import configure_logging, redact_value
from sipuma.shared.samples import example

pytestmark = pytest.mark.unit


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging("intake", fmt="json", stream=buffer)
    yield buffer
    structlog.reset_defaults()
    logging.getLogger().handlers = []


def records(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mail siti@contoh.id now", "mail [email] now"),
        ("sms 0812-3456-7890", "sms [phone]"),
        ("sms +62 812 3456 7890.", "sms [phone]."),
        ("tel (021) 555-1234", "tel [phone]"),
        ("nik 3171015708450001", "nik [nik]"),
    ],
)
def test_values_that_look_like_contact_data_are_masked(text: str, masked: str) -> None:
    assert redact_value(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "register PGD-KPPBC-TMP-AMBON/2026/000123",
        "event 5e0c9a34-0f7d-4c4b-8d3e-2a6b7c8d9e0f",
        "at 2026-03-02T02:15:00Z offset 1234567 partition 3",
        "message_id 0-1795838940934",
    ],
)
def test_ordinary_values_are_left_alone(text: str) -> None:
    assert redact_value(text) == text


def test_sensitive_keys_are_masked_at_any_depth() -> None:
    value = {
        "complainant": {"name": "Siti"},
        "payload": {"contact": {"email": "x@y.id"}, "office_code": "K1"},
        "items": [{"phone": "+6281234567890", "kind": "sms"}],
        "reported_name": "Ahmad",
        "Email": "a@b.id",
        "nik": None,
    }
    assert redact_value(value) == {
        "complainant": "[redacted]",
        "payload": {"contact": "[redacted]", "office_code": "K1"},
        "items": [{"phone": "[redacted]", "kind": "sms"}],
        "reported_name": "[redacted]",
        "Email": "[redacted]",
        "nik": None,
    }


def test_pydantic_models_are_redacted_not_dumped() -> None:
    redacted = redact_value(example(ev.ComplaintReceived))
    text = json.dumps(redacted)
    for secret in ("Siti", "Pattimura", "pengadu@contoh.id", "6281234567890"):
        assert secret not in text
    assert redacted["office_code"] == "KPPBC-TMP-AMBON"


def test_log_lines_are_json_with_service_context_and_no_personal_data(lines: io.StringIO) -> None:
    log = structlog.get_logger("test")
    with structlog.contextvars.bound_contextvars(correlation_id="c-1", event_id="e-1"):
        log.info("received from siti@contoh.id", complainant={"name": "Siti"}, office="K1")
    (line,) = records(lines)
    assert line["service"] == "intake"
    assert line["correlation_id"] == "c-1" and line["event_id"] == "e-1"
    assert line["event"] == "received from [email]"
    assert line["complainant"] == "[redacted]" and line["office"] == "K1"
    assert line["level"] == "info" and "timestamp" in line


def test_stdlib_loggers_and_tracebacks_are_redacted_too(lines: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").warning("client %s", "siti@contoh.id")
    try:
        raise ValueError("duplicate key phone=+62 812 3456 7890")
    except ValueError:
        structlog.get_logger("test").exception("failed")
    text = lines.getvalue()
    assert "siti@contoh.id" not in text and "3456" not in text
    assert "[email]" in text and "[phone]" in text
    exception = records(lines)[1]["exception"]
    assert isinstance(exception, str) and exception.startswith("Traceback")


def test_faststream_style_extra_is_redacted(lines: io.StringIO) -> None:
    structlog.get_logger("broker").log(logging.INFO, "Received", extra={"email": "a@b.id"})
    assert records(lines)[0]["extra"] == {"email": "[redacted]"}
