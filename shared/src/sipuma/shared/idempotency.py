"""`Idempotency-Key` at the HTTP edge, the same in every service (plumbing, no business rules).

- same officer + same route + same key + same request → the stored answer again
  (`Idempotent-Replayed: true`), nothing done twice;
- same key with a different request → 409 `idempotency_key_reused`;
- the same key while the first request still runs → 409 `idempotency_key_in_progress`;
- a malformed key (empty, over 200 characters) → 422 like any other header; `checked_key` gives
  that same 422 before a dependency that would ask another service (a route by register number).

Answers are kept by an `IdempotencyAnswers` adapter (intake: SQLite beside its spool; evidence:
its MongoDB-wire store, `sipuma.shared.mongo_idempotency`) and expire after a TTL, so a key may
be used again two days later. Only successful answers are kept: a refused or failed request is
abandoned and may be retried with the same key.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Protocol

import structlog
from fastapi import Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import StringConstraints, TypeAdapter, ValidationError

from sipuma.shared.problems import ProblemError, conflict, render
from sipuma.shared.tasks import cancel_and_wait

log = structlog.get_logger("sipuma.shared.idempotency")

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
DEFAULT_TTL_S = 48 * 3600

KEY_CONFLICT = (
    "idempotency_key_reused",
    "Idempotency-Key ini sudah dipakai untuk permintaan dengan isi berbeda.",
    "This Idempotency-Key was already used for a request with a different body.",
)
KEY_STORE_DOWN = (
    "idempotency_unavailable",
    "Penyimpanan Idempotency-Key sementara tidak tersedia; tidak ada yang diproses. Coba lagi.",
    "The Idempotency-Key store is unavailable for now; nothing was done. Please retry.",
)
KEY_RUNNING = (
    "idempotency_key_in_progress",
    "Permintaan dengan Idempotency-Key ini masih diproses; coba lagi sebentar.",
    "A request with this Idempotency-Key is still being processed; retry shortly.",
)

KEY_MIN_LENGTH, KEY_MAX_LENGTH = 1, 200

IdemKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=KEY_MIN_LENGTH,
        max_length=KEY_MAX_LENGTH,
        description="Kunci pengulangan aman · safe-retry key (same key + body → same answer)",
    ),
]

_KEY = TypeAdapter(
    Annotated[str, StringConstraints(min_length=KEY_MIN_LENGTH, max_length=KEY_MAX_LENGTH)]
)


async def checked_key(request: Request) -> str | None:
    """A dependency: the request's key, or the 422 an `IdemKey` parameter gives (same errors,
    same place), raised at once. FastAPI validates a route's header parameters only after its
    dependencies ran: list this before one that asks another service (the registry, to resolve
    a register number), so a malformed key is refused first and costs no call."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    try:
        return _KEY.validate_python(raw)
    except ValidationError as error:
        errors = [{**e, "loc": ("header", HEADER, *e["loc"])} for e in error.errors()]
        raise RequestValidationError(errors) from None


Answer = tuple[int, dict[str, Any], dict[str, str]]


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class Outcome(Enum):
    NEW = "new"
    REPLAY = "replay"
    MISMATCH = "mismatch"
    IN_PROGRESS = "in_progress"


class IdempotencyAnswers(Protocol):
    """Stored answers per (scope, key); `scope` already names the officer and the route."""

    async def begin(self, scope: str, key: str, print_: str) -> tuple[Outcome, StoredAnswer | None]:
        """NEW: this request holds the key now and must `finish` or `abandon` it. REPLAY: the
        answer kept for the same request. MISMATCH: the key was used for another request.
        IN_PROGRESS: the same request is running elsewhere."""
        ...

    async def finish(self, scope: str, key: str, print_: str, answer: StoredAnswer) -> None: ...

    async def abandon(self, scope: str, key: str) -> None:
        """The request failed (nothing kept): a retry with the same key may run again."""
        ...

    @property
    def renew_every_s(self) -> float | None:
        """How often a running request renews its hold on the key (None: no lease to renew)."""
        ...

    async def renew(self, scope: str, key: str) -> None:
        """The request still runs: keep holding the key (a replica that died stops renewing,
        and a retry may take the key over soon after)."""
        ...


def scope_of(officer_id: str, route: str) -> str:
    """Keys are the officer's own: another officer's identical key is another request."""
    return f"{officer_id}\x1f{route}"


def fingerprint(body: bytes) -> str:
    """Canonical JSON, so whitespace or key order do not turn a retry into a conflict."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
        data = canonical.encode()
    except ValueError:
        data = body
    return hashlib.sha256(data).hexdigest()


def replay(stored: StoredAnswer) -> JSONResponse:
    headers = {**stored.headers, REPLAYED: "true"}
    return JSONResponse(stored.body, status_code=stored.status, headers=headers)


def refusal(outcome: Outcome, request: Request) -> JSONResponse:
    """409 for a key used for another request, or one whose first request still runs."""
    code, id_text, en_text = KEY_CONFLICT if outcome is Outcome.MISMATCH else KEY_RUNNING
    return render(conflict(id_text, en_text, code), request)


async def idempotent(
    answers: IdempotencyAnswers,
    request: Request,
    scope: str,
    key: str | None,
    print_: str,
    run: Callable[[], Awaitable[Answer]],
    *,
    matches: Callable[[StoredAnswer], Awaitable[bool]] | None = None,
) -> Response:
    """`run()` once per (scope, key, request); a retry gets the kept answer. `print_` stands
    for the request; when part of it can only be checked against the kept answer (an uploaded
    file's hash), `matches` says whether it is the same, else the key counts as reused."""
    if key is None:
        status, body, headers = await run()
        return JSONResponse(body, status_code=status, headers=headers)
    try:
        outcome, stored = await answers.begin(scope, key, print_)
    except Exception as exc:  # nothing done yet: the client may retry, never a 500
        log.warning("idempotency_unavailable", error=type(exc).__name__)
        raise ProblemError(503, *KEY_STORE_DOWN, headers={"Retry-After": "10"}) from None
    if outcome is Outcome.REPLAY and stored is not None:
        if matches is None or await matches(stored):
            return replay(stored)
        outcome = Outcome.MISMATCH
    if outcome is not Outcome.NEW:
        return refusal(outcome, request)
    holding = _keep_holding(answers, scope, key)
    try:
        status, body, headers = await run()
    except BaseException:
        await _stop(holding)
        # Best effort: a key not let go is free again when its holder's lease ends.
        with contextlib.suppress(Exception):
            await answers.abandon(scope, key)
        raise
    await _stop(holding)
    try:
        await answers.finish(scope, key, print_, StoredAnswer(status, body, headers))
    except Exception as exc:  # done all the same: the answer is given; a retry meets the ids
        log.warning("idempotency_answer_not_kept", error=type(exc).__name__)
    return JSONResponse(body, status_code=status, headers=headers)


def _keep_holding(answers: IdempotencyAnswers, scope: str, key: str) -> asyncio.Task[None] | None:
    every = answers.renew_every_s
    if every is None:
        return None

    async def renew() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await answers.renew(scope, key)
            except Exception as exc:  # the lease may end: at worst a retry runs in parallel
                log.warning("idempotency_renew_failed", error=type(exc).__name__)

    return asyncio.create_task(renew(), name="idempotency-renew")


async def _stop(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        await cancel_and_wait(task)
