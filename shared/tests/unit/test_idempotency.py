"""`sipuma.shared.idempotency.idempotent`: the edge's answers for each outcome, with an
in-memory answers store (the real adapters have their own tests)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient

from sipuma.shared.idempotency import (
    REPLAYED,
    Answer,
    IdemKey,
    Outcome,
    StoredAnswer,
    checked_key,
    fingerprint,
    idempotent,
)
from sipuma.shared.problems import install_problem_handlers

pytestmark = pytest.mark.unit


class Answers:
    def __init__(self) -> None:
        self.kept: dict[tuple[str, str], tuple[str, StoredAnswer | None]] = {}

    async def begin(self, scope: str, key: str, print_: str) -> tuple[Outcome, StoredAnswer | None]:
        found = self.kept.get((scope, key))
        if found is None:
            self.kept[(scope, key)] = (print_, None)
            return Outcome.NEW, None
        if found[0] != print_:
            return Outcome.MISMATCH, None
        return (Outcome.IN_PROGRESS, None) if found[1] is None else (Outcome.REPLAY, found[1])

    async def finish(self, scope: str, key: str, print_: str, answer: StoredAnswer) -> None:
        self.kept[(scope, key)] = (print_, answer)

    async def abandon(self, scope: str, key: str) -> None:
        self.kept.pop((scope, key), None)

    @property
    def renew_every_s(self) -> float | None:
        return None

    async def renew(self, scope: str, key: str) -> None:
        return None


def app_with(
    answers: Answers, matches: Callable[[StoredAnswer], Awaitable[bool]] | None
) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    runs: list[int] = []

    @app.post("/things")
    async def things(request: Request, key: IdemKey = None) -> Response:
        body = await request.body()

        async def run() -> Answer:
            if body == b"fail":
                raise RuntimeError("failed")
            runs.append(1)
            return 201, {"n": len(runs)}, {"Location": f"/things/{len(runs)}"}

        return await idempotent(
            answers, request, "officer", key, fingerprint(body), run, matches=matches
        )

    app.state.runs = runs
    return app


def test_same_key_same_body_is_answered_once_and_replayed() -> None:
    app = app_with(Answers(), None)
    client = TestClient(app, raise_server_exceptions=False)
    first = client.post("/things", content=b'{"a": 1, "b": 2}', headers={"Idempotency-Key": "k"})
    again = client.post("/things", content=b'{"b":2,"a":1}', headers={"Idempotency-Key": "k"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() == {"n": 1}
    assert again.headers[REPLAYED] == "true" and REPLAYED not in first.headers
    assert again.headers["Location"] == "/things/1"
    other = client.post("/things", content=b"{}", headers={"Idempotency-Key": "k"})
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert json.loads(other.text)["messages"]["en"].startswith("This Idempotency-Key")
    assert client.post("/things", content=b"{}").json() == {"n": 2}  # no key: each runs
    assert client.post("/things", headers={"Idempotency-Key": "k" * 201}).status_code == 422


def test_a_failed_request_lets_the_key_go_and_in_progress_is_409() -> None:
    answers = Answers()
    client = TestClient(app_with(answers, None), raise_server_exceptions=False)
    assert (
        client.post("/things", content=b"fail", headers={"Idempotency-Key": "k"}).status_code == 500
    )
    assert answers.kept == {}
    answers.kept[("officer", "r")] = (fingerprint(b"{}"), None)  # another replica runs it
    running = client.post("/things", content=b"{}", headers={"Idempotency-Key": "r"})
    assert running.status_code == 409
    assert running.json()["code"] == "idempotency_key_in_progress"


def test_a_replay_that_does_not_match_the_kept_answer_is_a_reused_key() -> None:
    async def never(_: StoredAnswer) -> bool:
        return False

    client = TestClient(app_with(Answers(), never))
    assert (
        client.post("/things", content=b"{}", headers={"Idempotency-Key": "k"}).status_code == 201
    )
    again = client.post("/things", content=b"{}", headers={"Idempotency-Key": "k"})
    assert again.status_code == 409
    assert again.json()["code"] == "idempotency_key_reused"


class Broken(Answers):
    def __init__(self, *, begin: bool = False, finish: bool = False) -> None:
        super().__init__()
        self.fail_begin, self.fail_finish = begin, finish

    async def begin(self, scope: str, key: str, print_: str) -> tuple[Outcome, StoredAnswer | None]:
        if self.fail_begin:
            raise ConnectionError("store down")
        return await super().begin(scope, key, print_)

    async def finish(self, scope: str, key: str, print_: str, answer: StoredAnswer) -> None:
        if self.fail_finish:
            raise ConnectionError("store down")
        await super().finish(scope, key, print_, answer)


def test_an_unreachable_answers_store_is_a_503_before_anything_is_done() -> None:
    app = app_with(Broken(begin=True), None)
    answer = TestClient(app).post("/things", content=b"{}", headers={"Idempotency-Key": "k"})
    assert answer.status_code == 503
    assert answer.json()["code"] == "idempotency_unavailable"
    assert answer.headers["Retry-After"] == "10"
    assert app.state.runs == []


def test_a_done_request_whose_answer_cannot_be_kept_is_still_answered() -> None:
    app = app_with(Broken(finish=True), None)
    answer = TestClient(app).post("/things", content=b"{}", headers={"Idempotency-Key": "k"})
    assert answer.status_code == 201
    assert answer.json() == {"n": 1}


class Renewing(Answers):
    def __init__(self) -> None:
        super().__init__()
        self.renewed: asyncio.Event | None = None

    @property
    def renew_every_s(self) -> float | None:
        return 0.01

    async def renew(self, scope: str, key: str) -> None:
        assert self.renewed is not None
        self.renewed.set()


async def test_a_running_request_renews_its_hold_on_the_key() -> None:
    answers = Renewing()
    answers.renewed = asyncio.Event()

    async def run() -> Answer:
        assert answers.renewed is not None
        await answers.renewed.wait()  # ends only once the key was renewed while it ran
        return 201, {"ok": True}, {}

    request = Request({"type": "http", "method": "POST", "path": "/", "headers": []})
    response = await idempotent(answers, request, "s", "k", "p", run)
    assert response.status_code == 201
    assert answers.kept[("s", "k")][1] == StoredAnswer(201, {"ok": True}, {})


async def costly(request: Request) -> int:
    """Stands for asking the registry which complaint a number is (module level: the route's
    string annotations resolve here)."""
    request.app.state.resolved.append(1)
    return 1


def test_checked_key_refuses_as_the_header_parameter_does_before_later_dependencies() -> None:
    app = FastAPI()
    install_problem_handlers(app)
    resolved: list[int] = []
    app.state.resolved = resolved

    @app.post("/declared")
    async def declared(key: IdemKey = None) -> dict[str, str | None]:
        return {"key": key}

    @app.post("/checked")
    async def checked(
        key: Annotated[str | None, Depends(checked_key)],
        _: Annotated[int, Depends(costly)],
        declared: IdemKey = None,
    ) -> dict[str, str | None]:
        return {"key": key}

    client = TestClient(app)
    for bad in ("", "k" * 201):
        expected = client.post("/declared", headers={"Idempotency-Key": bad})
        answer = client.post("/checked", headers={"Idempotency-Key": bad})
        assert answer.status_code == expected.status_code == 422
        assert answer.json()["invalid-params"] == expected.json()["invalid-params"]
    assert resolved == []
    assert client.post("/checked", headers={"Idempotency-Key": "k-1"}).json() == {"key": "k-1"}
    assert client.post("/checked").json() == {"key": None}
    assert resolved == [1, 1]
