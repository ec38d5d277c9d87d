"""Pytest fixtures handing each test real Kafka, MongoDB-compatible store, S3 and SMTP endpoints."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from tests.harness.endpoints import Endpoints, resolve
from tests.harness.inboxes import MailInbox, SmsInbox


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    with ExitStack() as stack:
        yield resolve(stack)


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """Unique, S3/Kafka/MongoDB-safe names so tests never share topics, databases or buckets."""

    def make(prefix: str = "t") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}".lower()

    return make


@pytest.fixture
def mail_inbox(endpoints: Endpoints) -> MailInbox:
    return MailInbox(endpoints.mail_api)


@pytest.fixture
def sms_inbox(endpoints: Endpoints) -> SmsInbox:
    return SmsInbox(endpoints.sms_url)
