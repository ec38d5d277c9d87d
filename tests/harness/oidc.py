"""The real OpenID Connect provider for tests: Keycloak with the realm of
`deploy/keycloak/sipuma-realm.json` (its test officers sign in with the direct grant of the
`sipuma-tests` client).

Resolution order, first match wins:
1. `SIPUMA_TEST_OIDC_ISSUER` (a provider someone already runs with that realm);
2. the local Keycloak of `deploy/local/keycloak.sh` when its discovery document answers;
3. testcontainers' official image (quay.io/keycloak/keycloak) when a Docker engine answers;
4. otherwise `deploy/local/keycloak.sh up` (idempotent; about a minute the first time).
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from tests.harness.endpoints import ROOT, docker_engine_answers

REALM_FILE = ROOT / "deploy/keycloak/sipuma-realm.json"
KEYCLOAK_IMAGE = "quay.io/keycloak/keycloak:26.5.6"
TEST_CLIENT = "sipuma-tests"
TEST_CLIENT_SECRET = "dev-only-sipuma-tests-secret"
CONSOLE_CLIENT_SECRET = "dev-only-sipuma-console-secret"
OFFICER_PASSWORD = "sipuma-test-officer"
ADMIN = ("admin", "dev-only-keycloak-admin")  # the dev instance's bootstrap admin


@dataclass(frozen=True)
class TestOfficer:
    __test__ = False  # not a test class

    username: str  # the NIP, carried as the `nip` claim
    office: str
    roles: tuple[str, ...]


# The realm file's officers, by what a test needs them for.
RECEIVER_TJPRIOK = TestOfficer("199001012020121001", "KPUBC-TPK-TJPRIOK", ("receiver",))
COMPLIANCE_TJPRIOK = TestOfficer("198505052010011002", "KPUBC-TPK-TJPRIOK", ("compliance",))
RECEIVER_MAKASSAR = TestOfficer(
    "199203032015022003", "KPPBC-TMP-MAKASSAR", ("receiver", "compliance")
)
SUPERVISOR = TestOfficer("197801012000031004", "KPPBC-TMP-BATAM", ("supervisor",))


def _post_form(url: str, form: dict[str, str]) -> dict[str, Any]:
    data = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(url, data=data, timeout=30) as answer:
        result: dict[str, Any] = json.load(answer)
    return result


@dataclass(frozen=True)
class Oidc:
    base_url: str  # Keycloak's root, e.g. http://127.0.0.1:18080
    realm: str = "sipuma"

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/realms/{self.realm}"

    def token_url(self, realm: str | None = None) -> str:
        return f"{self.base_url}/realms/{realm or self.realm}/protocol/openid-connect/token"

    def jwks_url(self, realm: str | None = None) -> str:
        return f"{self.base_url}/realms/{realm or self.realm}/protocol/openid-connect/certs"

    def tokens(self, officer: TestOfficer | str) -> dict[str, Any]:
        """A real access (and refresh) token for a test officer: Keycloak's direct grant."""
        username = officer if isinstance(officer, str) else officer.username
        return _post_form(
            self.token_url(),
            {
                "grant_type": "password",
                "client_id": TEST_CLIENT,
                "client_secret": TEST_CLIENT_SECRET,
                "username": username,
                "password": OFFICER_PASSWORD,
                "scope": "openid",
            },
        )

    def access_token(self, officer: TestOfficer | str) -> str:
        return str(self.tokens(officer)["access_token"])

    def admin_token(self) -> str:
        """The dev instance's admin (master realm), e.g. for a token of another issuer."""
        answer = _post_form(
            self.token_url("master"),
            {
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": ADMIN[0],
                "password": ADMIN[1],
            },
        )
        return str(answer["access_token"])

    def settings(self) -> dict[str, Any]:
        """The services' settings for this provider (StaffApiSettings fields)."""
        return {"oidc_issuer": self.issuer}


def _answers(base_url: str) -> bool:
    url = f"{base_url}/realms/sipuma/.well-known/openid-configuration"
    try:
        with urllib.request.urlopen(url, timeout=3):
            return True
    except OSError:
        return False


def _from_docker(stack: ExitStack) -> Oidc:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    keycloak = (
        DockerContainer(KEYCLOAK_IMAGE)
        .with_exposed_ports(8080)
        .with_env("KC_BOOTSTRAP_ADMIN_USERNAME", ADMIN[0])
        .with_env("KC_BOOTSTRAP_ADMIN_PASSWORD", ADMIN[1])
        .with_volume_mapping(str(REALM_FILE), "/opt/keycloak/data/import/sipuma-realm.json")
        .with_command("start-dev --db=dev-mem --import-realm")
    )
    stack.enter_context(keycloak)
    wait_for_logs(keycloak, "Listening on", timeout=300)
    port = keycloak.get_exposed_port(8080)
    return Oidc(f"http://{keycloak.get_container_host_ip()}:{port}")


def resolve_oidc(stack: ExitStack) -> Oidc:
    issuer = os.environ.get("SIPUMA_TEST_OIDC_ISSUER")
    if issuer:
        base, _, realm = issuer.rstrip("/").rpartition("/realms/")
        return Oidc(base, realm)
    local = f"http://127.0.0.1:{int(os.environ.get('SIPUMA_KEYCLOAK_PORT', 18080))}"
    if _answers(local):
        return Oidc(local)
    if docker_engine_answers():
        return _from_docker(stack)
    script = str(ROOT / "deploy/local/keycloak.sh")
    subprocess.run(["bash", script, "up"], check=True, stdin=subprocess.DEVNULL)
    subprocess.run(["bash", script, "wait"], check=True, stdin=subprocess.DEVNULL)
    return Oidc(local)
