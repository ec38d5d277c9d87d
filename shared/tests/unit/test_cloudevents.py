"""CloudEvents binary-mode headers: set on publish, read back and checked against the body."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sipuma.shared import cloudevents as ce
from sipuma.shared import events as ev
from sipuma.shared.events import ALL_EVENTS, InvalidEvent
from sipuma.shared.samples import example

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.__name__)
def test_headers_round_trip(cls: type[ev.Event]) -> None:
    event = example(cls)
    headers = ce.to_headers(event)
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_id"] == str(event.event_id)
    assert headers["ce_type"] == cls.TYPE
    assert headers["ce_source"] == f"/sipuma/{event.source}"
    assert headers["ce_subject"] == str(event.complaint_id)
    assert headers["content-type"] == "application/json"
    assert headers["correlation_id"] == event.correlation_id
    meta, again = ce.decode_message(headers, ce.encode(event))
    assert again == event
    assert meta.time == event.occurred_at == datetime(2026, 3, 2, 2, 15, tzinfo=UTC)
    assert meta.service == event.source


def test_time_header_is_rfc3339_utc() -> None:
    assert ce.to_headers(example(ev.ComplaintRegistered))["ce_time"] == "2026-03-02T02:15:00Z"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"ce_id": None}, "missing_headers"),
        ({"ce_specversion": "0.3"}, "unsupported_specversion"),
        ({"content-type": "text/plain"}, "unsupported_content_type"),
        ({"ce_time": "yesterday"}, "invalid_headers"),
        ({"ce_type": "sipuma.complaint.status-changed.v1"}, "invalid_payload"),
        ({"ce_id": "00000000-0000-0000-0000-000000000000"}, "headers_disagree_with_body"),
        ({"ce_subject": "someone-else"}, "headers_disagree_with_body"),
    ],
)
def test_bad_headers_are_refused(change: dict[str, str | None], code: str) -> None:
    event = example(ev.ComplaintRegistered)
    headers = ce.to_headers(event) | change
    clean = {k: v for k, v in headers.items() if v is not None}
    with pytest.raises(InvalidEvent) as info:
        ce.decode_message(clean, ce.encode(event))
    assert info.value.code == code


def test_accept_limits_event_types() -> None:
    event = example(ev.ComplaintRegistered)
    with pytest.raises(InvalidEvent, match="unexpected_event_type"):
        ce.decode_message(ce.to_headers(event), ce.encode(event), accept=[ev.TicketIssued])
