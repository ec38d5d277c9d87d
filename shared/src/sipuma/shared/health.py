"""`/healthz` (the process answers), `/readyz` (its dependencies answer) and `/metrics`.

Liveness never touches a dependency: a Kafka outage must not make the orchestrator restart
every replica. Readiness runs each check with a timeout and names the ones that failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY, CollectorRegistry

from sipuma.shared.metrics import READINESS, metrics_response

if TYPE_CHECKING:  # a process without Kafka (the registry's reports role) must not load it
    from faststream.kafka import KafkaBroker

ReadinessCheck = Callable[[], Awaitable[object]]


async def _passes(check: ReadinessCheck, timeout_seconds: float) -> bool:
    try:
        result = await asyncio.wait_for(check(), timeout_seconds)
    except Exception:  # any failure means "not ready"; the reason is in the service's own logs
        return False
    return result is not False


def health_router(
    checks: Mapping[str, ReadinessCheck] | None = None,
    *,
    timeout_seconds: float = 2.0,
    registry: CollectorRegistry = REGISTRY,
) -> APIRouter:
    router = APIRouter(tags=["operations"])
    named = dict(checks or {})

    @router.get("/healthz", summary="Alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Ready: Kafka and the service's own store answer")
    async def readyz() -> JSONResponse:
        results = await asyncio.gather(*(_passes(c, timeout_seconds) for c in named.values()))
        report: dict[str, Any] = {
            n: "ok" if ok else "failing" for n, ok in zip(named, results, strict=True)
        }
        for name, ok in zip(named, results, strict=True):
            # Kubelet asks every few seconds, so the gauge is fresh for the alert rules.
            READINESS.labels(name).set(1 if ok else 0)
        ready = all(results)
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": report},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return metrics_response(registry)

    return router


def kafka_check(broker: KafkaBroker, timeout_seconds: float = 2.0) -> ReadinessCheck:
    async def check() -> bool:
        return await broker.ping(timeout=timeout_seconds)

    return check
