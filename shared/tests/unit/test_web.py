"""The HTTP plumbing installed in one call: body limit (413), correlation id, problems, health."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from sipuma.shared.web import install_http_plumbing

pytestmark = pytest.mark.unit


async def always_ready() -> None:
    return None


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.post("/json")
    async def parsed(body: dict[str, Any]) -> dict[str, int]:
        return {"fields": len(body)}

    install_http_plumbing(app, {"kafka": always_ready}, max_body_bytes=100)
    return TestClient(app)


def test_small_body_passes_and_gets_a_correlation_id(client: TestClient) -> None:
    answer = client.post("/echo", content=b"x" * 100)
    assert answer.json() == {"size": 100}
    assert answer.headers["x-correlation-id"]


def test_declared_large_body_is_413_problem(client: TestClient) -> None:
    answer = client.post("/echo", content=b"x" * 101)
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "payload_too_large"
    assert answer.headers["x-correlation-id"]


def test_streamed_large_body_without_length_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield b"y" * 60

    answer = client.post("/echo", content=chunks())
    assert answer.status_code == 413


def test_streamed_large_json_body_of_a_parsed_route_is_413_not_400(client: TestClient) -> None:
    """FastAPI reads a declared body itself and turns any error while reading it into a 400,
    except an HTTPException: the limit must still answer 413, with the limit in both texts."""

    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield b" " * 60

    answer = client.post("/json", content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "payload_too_large"
    assert "100 B" in problem["messages"]["id"] and "100 B" in problem["messages"]["en"]
    assert client.post("/json", json={"a": 1}).json() == {"fields": 1}


def test_health_and_problem_handlers_are_installed(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").json()["status"] == "ready"
    assert client.get("/nope").json()["code"] == "not_found"


SECRET_TICKET = "TKT-9f8e7d6c5b4a39281706"  # planted: must never reach a log line or an answer
PLANTED_FILE = "Siti%20Aminah%20siti.aminah%40example.org%20081234567890.pdf"


@pytest.fixture
def log_lines() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def logged_client(log_lines: io.StringIO) -> Iterator[TestClient]:
    from sipuma.shared.logging import configure_logging
    from sipuma.shared.problems import ProblemError

    configure_logging("web-test", fmt="json", stream=log_lines)
    app = FastAPI()

    @app.get("/v1/track/{ticket}")
    async def track(ticket: str) -> dict[str, str]:
        raise ProblemError(404, "ticket_unknown", "Tiket tidak dikenal.", "Unknown ticket.")

    @app.post("/v1/things/{thing_id}/files")
    async def upload(thing_id: str, filename: str) -> dict[str, int]:
        return {"length": len(filename)}

    install_http_plumbing(app, {"kafka": always_ready})
    with TestClient(app) as client:
        yield client


def test_access_log_names_the_route_template_never_the_path_or_query(
    logged_client: TestClient, log_lines: io.StringIO
) -> None:
    tracked = logged_client.get(f"/v1/track/{SECRET_TICKET}")
    uploaded = logged_client.post(f"/v1/things/abc/files?filename={PLANTED_FILE}")
    missing = logged_client.get(f"/v1/nowhere/{SECRET_TICKET}")
    assert (tracked.status_code, uploaded.status_code, missing.status_code) == (404, 200, 404)

    out = log_lines.getvalue()
    for planted in (SECRET_TICKET, "Siti", "Aminah", "siti.aminah", "%40", "081234567890"):
        assert planted not in out
    assert '"route": "/v1/track/{ticket}"' in out
    assert '"route": "/v1/things/{thing_id}/files"' in out
    assert '"route": "<unmatched>"' in out
    # The problem's `instance` is the template too: the answer never echoes the ticket.
    assert tracked.json()["instance"] == "/v1/track/{ticket}"
    assert SECRET_TICKET not in missing.text


def test_every_service_serves_on_uvloop_with_the_httptools_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The services' server options (issue 15: h11 and asyncio's pure-Python loop were a large
    share of intake's time); the bench's raw baselines import the same names."""
    import uvicorn

    from sipuma.shared import web
    from sipuma.shared.settings import ServiceSettings

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    web.serve(FastAPI(), ServiceSettings())
    assert (seen["loop"], seen["http"]) == ("uvloop", "httptools")
    # Both installed: "auto" would silently fall back to h11 / asyncio without them.
    import httptools  # noqa: F401
    import uvloop  # noqa: F401
