"""Fixtures for the console's browser tests: the running system and Debian's Chromium."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.stack import Stack, start_stack
from tests.harness.endpoints import ROOT, Endpoints
from tests.harness.oidc import CONSOLE_CLIENT_SECRET, Oidc

CHROMIUM = os.environ.get("SIPUMA_CHROMIUM", "/usr/bin/chromium")
# axe-core from npm (package.json here), installed by deploy/local/install-browser.sh.
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Package scope: Playwright's sync API runs an event loop on the main thread while it is open;
# it must be closed before other packages' asyncio tests run.
@pytest.fixture(scope="package")
def console_stack(
    endpoints: Endpoints, oidc: Oidc, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    unique = f"e2e-console-{uuid.uuid4().hex[:10]}"
    # The real provider too: the console offers its sign-in, the APIs take its tokens.
    provider = {
        "SIPUMA_OIDC_ISSUER": oidc.issuer,
        "SIPUMA_CONSOLE_OIDC_ISSUER": oidc.issuer,
        "SIPUMA_CONSOLE_OIDC_CLIENT_SECRET": CONSOLE_CLIENT_SECRET,
    }
    # With the registry's read side: lists, exports and statistics go where they go when deployed.
    stack = start_stack(
        endpoints, unique, tmp_path_factory.mktemp("console-stack"), env=provider, reports=True
    )
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run deploy/local/install-browser.sh (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def new_page(
    browser: Browser,
    *,
    viewport: dict[str, int] | None = None,
    timezone: str = "Asia/Jakarta",
) -> Page:
    """A tab in a fresh context (locale id-ID); its JavaScript errors are kept in
    `page.js_errors`, and the messages of its Content-Security-Policy in `page.csp_refused`."""
    size = viewport or {"width": 1280, "height": 900}
    context = browser.new_context(
        locale="id-ID",
        timezone_id=timezone,
        viewport={"width": size["width"], "height": size["height"]},
    )
    context.set_default_timeout(20_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.js_errors = errors  # type: ignore[attr-defined]  # read by the tests
    refused: list[str] = []
    opened.on(
        "console",
        lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    opened.csp_refused = refused  # type: ignore[attr-defined]
    return opened


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = new_page(browser)
    try:
        yield opened
    finally:
        opened.context.close()
    refused = opened.csp_refused  # type: ignore[attr-defined]
    assert refused == [], f"the page broke its own Content-Security-Policy: {refused}"


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Screenshots go to docs/screenshots/ with SIPUMA_SCREENSHOTS=1, else a temporary folder."""
    if os.environ.get("SIPUMA_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return Path(tmp_path_factory.mktemp("screenshots"))


def axe(page: Page, state: str) -> None:
    """0 axe-core violations in this page state."""
    found = page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
          .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 4).map((n) => n.target)}`)"""
    )
    assert found == [], f"axe-core, {state}: {found}"
