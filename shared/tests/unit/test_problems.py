"""HTTP errors: RFC 9457 problem+json, each invalid field with rule code and id/en texts."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field

from sipuma.shared import problems, rules
from sipuma.shared.rules import RuleViolation
from sipuma.shared.validators import EmailAddress, MobileNumber, Nik

pytestmark = pytest.mark.unit


class ComplainantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=10)
    mobile: MobileNumber | None = None
    email: EmailAddress | None = None
    nik: Nik | None = None


class ComplaintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    complainant: ComplainantIn
    count: int = 1


def make_app() -> FastAPI:
    app = FastAPI()
    problems.install_problem_handlers(app)

    @app.post("/complaints")
    async def create(body: ComplaintIn) -> dict[str, str]:
        return {"mobile": body.complainant.mobile or ""}

    @app.get("/big")
    async def big() -> None:
        raise problems.payload_too_large(25 * 1_048_576)

    @app.get("/conflict")
    async def conflict() -> None:
        raise problems.conflict("Sudah ada.", "Already exists.", "duplicate")

    @app.get("/rule")
    async def rule() -> None:
        raise RuleViolation(rules.MOBILE_LANDLINE, field="tracking_contact.mobile")

    @app.get("/auth")
    async def auth() -> None:
        raise problems.unauthorized()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("siti@contoh.id broke it")

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app(), raise_server_exceptions=False)


def test_valid_body_is_normalised(client: TestClient) -> None:
    answer = client.post(
        "/complaints", json={"complainant": {"name": "Siti", "mobile": "0812 3456 7890"}}
    )
    assert answer.status_code == 200 and answer.json() == {"mobile": "+6281234567890"}


def test_422_lists_every_invalid_field_with_rule_and_both_languages(client: TestClient) -> None:
    body = {
        "complainant": {
            "name": "Nama yang terlalu panjang",
            "mobile": "021 555 1234",
            "email": "bukan-email",
            "nik": "3171011708450000",
            "hobby": "x",
        },
        "count": "many",
    }
    answer = client.post("/complaints", json=body)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 422 and problem["code"] == "validation_failed"
    assert problem["type"] == "urn:sipuma:problem:validation_failed"
    fields = {p["name"]: p for p in problem["invalid-params"]}
    assert set(fields) == {
        "complainant.name",
        "complainant.mobile",
        "complainant.email",
        "complainant.nik",
        "complainant.hobby",
        "count",
    }
    mobile = fields["complainant.mobile"]
    assert mobile["code"] == "mobile_landline"
    assert mobile["messages"] == {"id": rules.MOBILE_LANDLINE.id, "en": rules.MOBILE_LANDLINE.en}
    assert mobile["reason"] == rules.MOBILE_LANDLINE.id
    assert fields["complainant.nik"]["code"] == "nik_serial"
    assert fields["complainant.name"]["code"] == "string_too_long"
    assert "10" in fields["complainant.name"]["messages"]["id"]
    assert fields["complainant.hobby"]["messages"]["id"] == "Isian ini tidak dikenal."
    assert fields["count"]["code"] == "int_parsing"
    assert "021" not in answer.text and "bukan-email" not in answer.text  # input never echoed


def test_missing_fields_are_named(client: TestClient) -> None:
    answer = client.post("/complaints", json={})
    (param,) = answer.json()["invalid-params"]
    assert (param["name"], param["code"], param["messages"]["id"]) == (
        "complainant",
        "missing",
        "Wajib diisi.",
    )


def test_malformed_json_is_400(client: TestClient) -> None:
    answer = client.post(
        "/complaints", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "json_invalid"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/big", 413, "payload_too_large"),
        ("/conflict", 409, "duplicate"),
        ("/auth", 401, "token_missing"),
        ("/nowhere", 404, "not_found"),
    ],
)
def test_helpers_and_http_errors(client: TestClient, path: str, status: int, code: str) -> None:
    answer = client.get(path)
    assert answer.status_code == status
    problem = answer.json()
    assert problem["code"] == code and problem["status"] == status
    assert problem["messages"]["id"] and problem["messages"]["en"]
    # `instance` is the matched route's template; an unmatched path is not echoed (it may hold
    # a secret such as a ticket).
    assert problem.get("instance") == (None if path == "/nowhere" else path)
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer")
    if status == 413:
        assert "25 MB" in problem["messages"]["id"]


def test_rule_violation_raised_in_code_is_422(client: TestClient) -> None:
    (param,) = client.get("/rule").json()["invalid-params"]
    assert param["name"] == "tracking_contact.mobile" and param["code"] == "mobile_landline"


def test_unexpected_errors_are_500_without_details(client: TestClient) -> None:
    answer = client.get("/boom")
    assert answer.status_code == 500
    assert answer.json()["code"] == "internal_error"
    assert "siti" not in answer.text
