"""Transient versus permanent, and the backoff schedule."""

from __future__ import annotations

import random

import aiosmtplib
import httpx
import pytest

from sipuma.notifier.retry import Backoff, Kind, classify, classify_http_status
from sipuma.shared.payloads import NotificationFailure

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_http_throttling_and_server_errors_are_transient(status):
    assert classify_http_status(status).kind is Kind.TRANSIENT


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 422])
def test_other_http_client_errors_are_permanent(status):
    error = classify_http_status(status)
    assert error.kind is Kind.PERMANENT and error.reason is NotificationFailure.REJECTED


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        aiosmtplib.SMTPConnectError("refused"),
        aiosmtplib.SMTPServerDisconnected("gone"),
        aiosmtplib.SMTPReadTimeoutError("slow"),
        aiosmtplib.SMTPDataError(451, "local error"),
        aiosmtplib.SMTPRecipientRefused(452, "mailbox full", "x@example.com"),
    ],
)
def test_connection_problems_timeouts_and_smtp_4xx_are_transient(error):
    assert classify(error).kind is Kind.TRANSIENT


def test_smtp_5xx_is_permanent_and_names_a_bad_recipient():
    refused = classify(aiosmtplib.SMTPRecipientRefused(550, "no such user", "x@example.com"))
    assert refused.kind is Kind.PERMANENT
    assert refused.reason is NotificationFailure.INVALID_RECIPIENT
    data = classify(aiosmtplib.SMTPDataError(554, "spam"))
    assert data.kind is Kind.PERMANENT and data.reason is NotificationFailure.REJECTED


def test_classification_never_keeps_the_recipient():
    error = classify(aiosmtplib.SMTPRecipientRefused(550, "x@example.com unknown", "x@example.com"))
    assert "example.com" not in error.detail


def test_unexpected_errors_are_permanent_other():
    assert classify(ValueError("bug")).reason is NotificationFailure.OTHER


def test_backoff_grows_exponentially_with_full_jitter_and_a_cap():
    backoff = Backoff(base_seconds=2, max_seconds=60, max_attempts=5)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (6, 60), (20, 60)]:
        delays = [backoff.delay(attempt, rng) for _ in range(500)]
        assert all(backoff.floor_seconds <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.9, "jitter spreads over the whole range"
    assert not backoff.exhausted(4) and backoff.exhausted(5)
