"""The console's pages and its development sign-in, without any running component."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sipuma.intake.console import ConsoleSettings, mount_console
from sipuma.intake.console.texts import TEXTS
from sipuma.intake.settings import IntakeSettings
from sipuma.shared.auth import Role, TokenVerifier
from sipuma.shared.problems import install_problem_handlers

pytestmark = pytest.mark.unit

SECRET = "unit-console-secret-0123456789abcdef-xyz"
OFFICE = "KPUBC-TPK-TJPRIOK"
PAGES = [
    "/konsol/masuk",
    "/konsol/baru",
    "/konsol/daftar",
    "/konsol/audit",
    "/konsol/staf",
    "/lacak",
]
COMPLAINT = "/konsol/pengaduan/7cfdc2ac-5ffc-59c9-b1e9-5ac0344aac78"
STATIC = Path(__file__).parents[2] / "src/sipuma/intake/console/static"


def client(environment: str = "development") -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)  # as intake's composition root does
    if environment == "development":
        settings = IntakeSettings(environment=environment, token_secret=SECRET)
    else:  # no signing secret outside development: tokens come from the provider
        settings = IntakeSettings(
            environment=environment, oidc_issuer="https://sso.example.go.id/realms/djbc"
        )
    console = ConsoleSettings(
        registry_url="http://registry.example:8002", evidence_url="http://evidence.example:8003"
    )
    mount_console(app, settings, console)
    return TestClient(app)


@pytest.mark.parametrize("path", [*PAGES, COMPLAINT])
@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_page_renders_in_both_languages(path: str, lang: str) -> None:
    answer = client().get(path, params={"lang": lang})
    assert answer.status_code == 200
    assert f'<html lang="{lang}">' in answer.text
    assert answer.cookies.get("sipuma_lang") == lang
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "http://registry.example:8002" in csp and "http://evidence.example:8003" in csp
    assert answer.headers["cache-control"] == "no-store"
    # No inline script: only JSON data blocks and files from /konsol/static.
    for tag in re.findall(r"<script[^>]*>", answer.text):
        assert 'type="application/json"' in tag or 'src="/konsol/static/' in tag


def test_indonesian_is_the_default_and_the_choice_is_remembered() -> None:
    web = client()
    assert "Catat pengaduan" in web.get("/konsol/baru").text
    web.get("/konsol/baru", params={"lang": "en"})
    assert "Record a complaint" in web.get("/konsol/daftar").text


def test_every_form_field_has_a_label() -> None:
    html = "".join(client().get(page).text for page in ("/konsol/baru", COMPLAINT, "/konsol/staf"))
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html)
    assert ids
    for field_id in ids:
        assert f'for="{field_id}"' in html, field_id


@pytest.mark.parametrize(("rule", "marker"), [("sop", "isi salah satu"), ("strict", "wajib")])
def test_the_contact_pair_is_labelled_by_the_completeness_rule(rule: str, marker: str) -> None:
    app = FastAPI()
    settings = IntakeSettings(token_secret=SECRET, completeness_rule=rule)
    mount_console(app, settings, ConsoleSettings())
    html = TestClient(app).get("/konsol/baru").text
    for field_id in ("complainant-phone", "complainant-email"):
        label = re.search(rf'<label for="{field_id}">(.*?)</label>', html)
        assert label and f"({marker})</span>" in label.group(1), field_id
        assert "opsional" not in label.group(1)
    assert ('data-group="all"' in html) is (rule == "sop")


def test_local_sign_in_mints_a_token_in_development() -> None:
    answer = client().post(
        "/konsol/masuk-lokal",
        json={"officer_id": "198001012005011001", "office_code": OFFICE, "roles": ["receiver"]},
    )
    assert answer.status_code == 200
    who = TokenVerifier(SECRET).verify(answer.json()["token"])
    assert who.office_code == OFFICE and who.roles == frozenset({Role.RECEIVER})


def test_local_sign_in_names_an_unknown_office() -> None:
    answer = client().post(
        "/konsol/masuk-lokal", json={"officer_id": "1", "office_code": "NOPE", "roles": []}
    )
    assert answer.status_code == 422
    names = {p["name"] for p in answer.json()["invalid-params"]}
    assert names == {"roles"}  # at least one role, checked before the office
    answer = client().post("/konsol/masuk-lokal", json={"officer_id": "1", "office_code": "NOPE"})
    assert answer.status_code == 422
    assert answer.json()["invalid-params"][0]["name"] == "office_code"


@pytest.mark.parametrize("environment", ["test", "production"])
def test_local_sign_in_is_refused_outside_development(environment: str) -> None:
    web = client(environment)
    answer = web.post(
        "/konsol/masuk-lokal",
        json={"officer_id": "198001012005011001", "office_code": OFFICE, "roles": ["receiver"]},
    )
    assert answer.status_code == 403
    assert answer.json()["code"] == "local_login_refused"
    assert "local-form" not in web.get("/konsol/masuk").text


def test_a_malformed_complaint_id_goes_back_to_the_list() -> None:
    answer = client().get("/konsol/pengaduan/<script>", follow_redirects=False)
    assert answer.status_code in (303, 404)


def test_static_files_are_served() -> None:
    web = client()
    for name in ("console.js", "console.css", "form.js", "complaint.js", "list.js", "track.js"):
        assert web.get(f"/konsol/static/{name}").status_code == 200


def test_every_text_the_scripts_ask_for_exists() -> None:
    asked = set()
    for script in STATIC.glob("*.js"):
        asked |= set(re.findall(r'\bS?\.?t\("([a-z0-9_]+)"\)', script.read_text("utf-8")))
    assert asked
    assert asked <= set(TEXTS), sorted(asked - set(TEXTS))


def test_the_form_knows_how_old_a_receipt_may_be_and_where_contact_refusals_go() -> None:
    html = client().get("/konsol/baru").text
    config = re.search(r'id="sipuma-config"[^>]*>(.*?)</script>', html, re.S)
    assert config and '"received_max_age_days": 30' in config.group(1)
    for element in (
        'id="result-contact"',
        'id="result-contact-message"',
        'id="result-contact-fix"',
    ):
        assert element in html
