"""Register number → complaint id, asked of the registry's HTTP API with the caller's own bearer
token, so office scope and roles stay the registry's decision (services never import each other).

Plumbing only: the registry's 404 (unknown, or another office's number: not even confirmed) is
passed on as a 404 problem; 401/403 as they came; the registry unreachable, slow or failing as a
503 with Retry-After — never a 500 for something outside the caller's hands.

`by_id` and `by_number` are the two FastAPI dependencies a route takes its complaint from, so a
service writes each route once and mounts it under both `/{complaint_id}` and
`/by-number/{number:path}` (intake's amendments, evidence).
"""

# No `from __future__ import annotations`: FastAPI reads the dependencies' signatures, and
# `by_number`'s refers to its closure.

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import quote

import httpx
from fastapi import Depends, Path, Request

from sipuma.shared.auth import Principal
from sipuma.shared.problems import ProblemError, not_found

RETRY_AFTER_S = 5


def unknown_number() -> ProblemError:
    return not_found(
        "Nomor register tidak ditemukan (atau bukan wilayah kantor Anda).",
        "Register number not found (or not your office's).",
        "register_number_not_found",
    )


def registry_unavailable() -> ProblemError:
    return ProblemError(
        503,
        "registry_unavailable",
        "Registri pengaduan sedang tidak dapat dihubungi; coba lagi sebentar.",
        "The complaint registry cannot be reached right now; retry shortly.",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


class RegistryLookup:
    """One shared HTTP client per service; `close()` from the lifespan."""

    def __init__(
        self,
        base_url: str,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,  # unit tests only
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout_s, transport=transport
        )

    async def complaint_id(self, register_number: str, authorization: str) -> str:
        number = register_number.strip()
        if not number:
            raise unknown_number()
        # '/' kept: the registry routes `{register_number:path}`; anything else percent-encoded.
        # The identifier route answers the id without identity: no identity-read audit entry.
        path = f"/v1/complaints/{quote(number, safe='/')}/identifier"
        try:
            answer = await self._client.get(path, headers={"Authorization": authorization})
        except httpx.HTTPError:
            raise registry_unavailable() from None
        if answer.status_code == 404:
            raise unknown_number()
        try:
            body = answer.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        if answer.status_code == 200:
            try:  # a UUID, or the registry is not answering as agreed
                return str(uuid.UUID(str(body.get("complaint_id"))))
            except ValueError:
                raise registry_unavailable() from None
        if answer.status_code in (401, 403):
            messages = body.get("messages") or {}
            raise ProblemError(
                answer.status_code,
                str(
                    body.get("code")
                    or ("token_invalid" if answer.status_code == 401 else "forbidden")
                ),
                str(messages.get("id") or "Tidak diizinkan."),
                str(messages.get("en") or "Not allowed."),
            )
        raise registry_unavailable()

    async def close(self) -> None:
        await self._client.aclose()


async def by_id(
    complaint_id: Annotated[uuid.UUID, Path(description="ID pengaduan · complaint id")],
) -> uuid.UUID:
    return complaint_id


def by_number(
    registry: RegistryLookup, principal: Callable[..., Awaitable[Principal]]
) -> Callable[..., Awaitable[uuid.UUID]]:
    """The dependency resolving the path's `number` through the registry, under the caller's own
    token; `principal` (the route's token check) runs first, so a bad token is a 401 before the
    registry is asked."""

    async def complaint_by_number(
        number: Annotated[str, Path(description="Nomor register · register number (any case)")],
        request: Request,
        _: Annotated[Principal, Depends(principal)],
    ) -> uuid.UUID:
        authorization = request.headers.get("authorization", "")
        return uuid.UUID(await registry.complaint_id(number, authorization))

    return complaint_by_number
