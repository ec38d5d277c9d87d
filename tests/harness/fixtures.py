"""Pytest fixtures handing each test real Kafka, MongoDB-compatible store, S3 and SMTP endpoints."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from tests.harness.cleanup import scratch_name, sweep
from tests.harness.endpoints import Endpoints, resolve
from tests.harness.inboxes import MailInbox, SmsInbox
from tests.harness.oidc import Oidc, resolve_oidc


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    with ExitStack() as stack:
        yield resolve(stack)


@pytest.fixture(scope="session")
def oidc() -> Iterator[Oidc]:
    """The real OpenID Connect provider (Keycloak, realm `sipuma`); `oidc.access_token(officer)`
    signs a test officer in (tests/harness/oidc.py)."""
    with ExitStack() as stack:
        yield resolve_oidc(stack)


@pytest.fixture
def scratch_tokens(request: pytest.FixtureRequest) -> Iterator[set[str]]:
    """Tokens of the names this test creates; what carries one is removed when the test ends
    (only when the test used the real servers)."""
    tokens: set[str] = set()
    yield tokens
    if tokens and "endpoints" in request.fixturenames:
        failures = sweep(request.getfixturevalue("endpoints"), tokens)
        if failures:
            warnings.warn(f"scratch resources left behind: {failures}", stacklevel=1)


@pytest.fixture
def unique_name(scratch_tokens: set[str]) -> Callable[[str], str]:
    """Unique, S3/Kafka/MongoDB-safe names so tests never share topics, databases or buckets;
    whatever is named with one is removed after the test."""

    def make(prefix: str = "t") -> str:
        return scratch_name(prefix, scratch_tokens)

    return make


@pytest.fixture
def mail_inbox(endpoints: Endpoints) -> MailInbox:
    return MailInbox(endpoints.mail_api)


@pytest.fixture
def sms_inbox(endpoints: Endpoints) -> SmsInbox:
    return SmsInbox(endpoints.sms_url)
