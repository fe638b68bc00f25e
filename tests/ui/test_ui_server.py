"""The UI server (``medkb ui``) only hands out the static app and where the API is; the
page may talk to nothing but itself and that API (Content-Security-Policy)."""

from __future__ import annotations

from starlette.testclient import TestClient
from typer.testing import CliRunner

from medkb.cli.main import app as cli
from medkb.ui import create_ui_app

API = "http://127.0.0.1:8000"


def test_the_page_config_and_every_script_are_served() -> None:
    with TestClient(create_ui_app(API + "/")) as client:
        page = client.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        csp = page.headers["content-security-policy"]
        assert f"connect-src 'self' {API};" in csp and "script-src 'self';" in csp
        assert client.get("/config.json").json() == {"api_url": API}
        for name in ("app", "api", "dom", "ask", "documents", "pairs", "graph", "admin", "charts"):
            script = client.get(f"/static/js/{name}.js")
            assert script.status_code == 200, name
            assert (
                ".innerHTML" not in script.text
                and "insertAdjacentHTML" not in script.text
                and "eval(" not in script.text
            ), name
        assert client.get("/static/style.css").status_code == 200
        assert client.get("/static/../server.py").status_code == 404


def test_an_api_url_that_is_not_http_is_refused() -> None:
    done = CliRunner().invoke(cli, ["ui", "--api-url", "ftp://example.org"])
    assert done.exit_code != 0
    assert "--api-url must start with http:// or https://" in done.output
