"""The HTTP plumbing installed in one call: body limit (413), correlation id, problems, health."""

from __future__ import annotations

from collections.abc import Iterator

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


def test_health_and_problem_handlers_are_installed(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").json()["status"] == "ready"
    assert client.get("/nope").json()["code"] == "not_found"
