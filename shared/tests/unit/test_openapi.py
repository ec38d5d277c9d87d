"""The OpenAPI document declares every error a client can get, as problem+json."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from sipuma.shared.openapi import PROBLEM_REF
from sipuma.shared.problems import MEDIA_TYPE
from sipuma.shared.web import install_http_plumbing

pytestmark = pytest.mark.unit


class Body(BaseModel):
    name: str


async def always_ready() -> None:
    return None


def document() -> dict[str, Any]:
    app = FastAPI()

    @app.post("/v1/things", responses={404: {"description": "no such thing"}})
    async def create(body: Body) -> dict[str, str]:
        return {"name": body.name}

    @app.get("/v1/track/{ticket}")
    async def track(ticket: str) -> dict[str, str]:
        return {"ticket": ticket}

    install_http_plumbing(app, {"kafka": always_ready}, public_paths=("/v1/track",))
    return app.openapi()


def problem_codes(operation: dict[str, Any]) -> set[str]:
    return {
        status
        for status, response in operation["responses"].items()
        if response.get("content", {}).get(MEDIA_TYPE, {}).get("schema") == {"$ref": PROBLEM_REF}
    }


def test_errors_follow_from_the_operation() -> None:
    paths = document()["paths"]
    create = paths["/v1/things"]["post"]
    assert problem_codes(create) == {
        "400", "401", "403", "404", "409", "413", "415", "422", "429", "503"
    }  # fmt: skip
    assert create["responses"]["404"]["description"] == "no such thing"  # the route's words kept
    assert "application/json" not in create["responses"]["422"]["content"]
    # public, read-only, no body: no 401/403/409/413/415
    assert problem_codes(paths["/v1/track/{ticket}"]["get"]) == {"400", "404", "422", "429", "503"}
    assert "400" not in paths["/healthz"]["get"]["responses"]


def test_problem_schema_is_a_component_and_the_json_422_shape_is_gone() -> None:
    schemas = document()["components"]["schemas"]
    assert {"Problem", "Messages", "InvalidParam"} <= schemas.keys()
    assert "invalid-params" in schemas["Problem"]["properties"]
    assert "HTTPValidationError" not in schemas


def test_document_is_generated_once() -> None:
    app = FastAPI()
    install_http_plumbing(app, {"kafka": always_ready})
    assert app.openapi() is app.openapi()
