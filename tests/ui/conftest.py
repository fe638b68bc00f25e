"""The web app in a real headless Chromium (Debian's ``chromium``, driven by Playwright):
one API server (``medkb serve``, static embedder, the demo pairs) and one UI server
(``medkb ui``) per module, both real processes on free ports of 127.0.0.1.

Without ``/usr/bin/chromium`` or the ``playwright`` package the tests skip saying so,
unless ``MEDKB_REQUIRE_SERVICES=1`` (CI), where they fail.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from medkb.cli.ui import ui_command
from medkb.demo import demo_files
from tests.api.conftest import wait_job
from tests.api.server import Server, make_keys, server_env, start_command, start_server
from tests.fixtures_servers import free_port
from tests.services import unavailable

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
TENANT = "clinic"
#: A pair whose texts are markup: the page must show them as text and run none of it.
XSS_QUESTION = 'What is <img src=x onerror="window.__xss=1"> syndrome?'
XSS_RESPONSE = "<script>window.__xss=2</script> syndrome is a rare made-up condition."


@dataclass
class Stack:
    """The running API and UI servers and the tenant's all-scope key."""

    api: Server
    ui_url: str
    key: str
    xss_id: str


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, launched once per module."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is missing: pip install 'medkb[dev]'")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def stack(
    browser: Any, tmp_path_factory: pytest.TempPathFactory, embed_cache: Path
) -> Iterator[Stack]:
    """``medkb serve`` with the demo pairs (and one markup pair) and ``medkb ui`` on it."""
    home = tmp_path_factory.mktemp("ui-stack")
    database_url = f"sqlite:///{home / 'kb.db'}"
    ui_port = free_port()
    key = make_keys(database_url, [TENANT])[TENANT]
    env = server_env(
        home, database_url, embed_cache, MEDKB_API__CORS_ORIGINS=f"http://127.0.0.1:{ui_port}"
    )
    api = start_server(env, home / "api.log")
    api.keys = {TENANT: key}
    ui = None
    try:
        xss_id = _seed(api)
        command = [sys.executable, "-m", "medkb.cli", *ui_example(api.url, ui_port)]
        ui = start_command(command, ui_port, env, home / "ui.log")
        yield Stack(api=api, ui_url=ui.url, key=key, xss_id=xss_id)
    finally:
        if ui is not None:
            ui.stop()
        api.stop()


def ui_example(api_url: str, port: int) -> list[str]:
    """The arguments of ``medkb ui --help``'s example, pointed at ``api_url`` and ``port``
    (so the example is what the browser tests run)."""
    found = re.search(r"Example: medkb (.+)", ui_command.__doc__ or "")
    assert found, "medkb ui --help has no example"
    args = shlex.split(found.group(1))
    for option, value in (("--api-url", api_url), ("--port", str(port))):
        args[args.index(option) + 1] = value
    return args


def _seed(api: Server) -> str:
    """Upload the demo pairs and add the markup pair; returns the markup pair's id."""
    demo = next(p for p in demo_files() if p.suffix == ".jsonl")
    with api.client(TENANT) as client:
        job = client.post("/v1/documents", files=[("files", (demo.name, demo.read_bytes()))])
        assert job.status_code == 202, job.text
        assert wait_job(client, job.json()["id"])["state"] == "done"
        made = client.post("/v1/pairs", json={"question": XSS_QUESTION, "response": XSS_RESPONSE})
        assert made.status_code == 201, made.text
        return str(made.json()["id"])


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    """A fresh tab (its own sessionStorage), failing the test on any uncaught script error."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield opened
        assert errors == [], errors
    finally:
        context.close()


def sign_in(page: Any, stack: Stack, view: str = "#/ask") -> None:
    """Open the app at ``view`` and sign in with the tenant's key."""
    page.goto(f"{stack.ui_url}/{view}")
    page.fill("#api-key", stack.key)
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("#nav:not([hidden])")


def screenshot(page: Any, name: str) -> Path:
    """Keep a full-page screenshot under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
