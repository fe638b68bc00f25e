"""``medkb tenants``, ``medkb keys``, ``medkb audit`` and ``medkb serve``'s bind guard."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from medkb.access.keys import authenticate
from medkb.errors import ConfigError, InputError, NotFound
from tests.e2e.test_cli import medkb


def _engine(home: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{home / 'medkb.db'}")


def test_tenants_and_keys_are_created_listed_rotated_and_revoked(
    tmp_path: Path, embed_cache: Path
) -> None:
    home = tmp_path / "home"
    assert (
        medkb(home, embed_cache, "tenants", "create", "st-marys", "--name", "St Mary's").returncode
        == 0
    )
    again = medkb(home, embed_cache, "tenants", "create", "st-marys")
    assert again.returncode == InputError.exit_code and "exists already" in again.stderr
    tenants = json.loads(medkb(home, embed_cache, "tenants", "list", "--json").stdout)
    assert [(t["id"], t["name"]) for t in tenants] == [("st-marys", "St Mary's")]

    made = medkb(
        home,
        embed_cache,
        "keys",
        "create",
        "--tenant",
        "st-marys",
        "--scopes",
        "query,admin",
        "--json",
    )
    issued = json.loads(made.stdout)
    assert issued["scopes"] == ["query", "admin"] and issued["key"].startswith("mk_")
    listed = medkb(home, embed_cache, "keys", "list", "--json").stdout
    assert issued["key"] not in listed  # shown once, never again
    assert json.loads(listed)[0]["id"] == issued["id"]
    engine = _engine(home)
    principal = authenticate(engine, issued["key"])
    assert principal is not None and principal.tenant_id == "st-marys"

    rotated = json.loads(medkb(home, embed_cache, "keys", "rotate", issued["id"], "--json").stdout)
    assert authenticate(engine, issued["key"]) is None
    assert authenticate(engine, rotated["key"]) is not None
    assert medkb(home, embed_cache, "keys", "revoke", rotated["id"]).returncode == 0
    assert authenticate(engine, rotated["key"]) is None
    engine.dispose()

    audit = json.loads(medkb(home, embed_cache, "audit", "list", "--json").stdout)
    assert [e["action"] for e in audit] == [
        "key.revoke",
        "key.rotate",
        "key.create",
        "tenant.create",
    ]
    assert {e["actor"] for e in audit} == {"cli"}


def test_keys_need_an_existing_tenant_and_known_scopes(tmp_path: Path, embed_cache: Path) -> None:
    home = tmp_path / "home"
    missing = medkb(home, embed_cache, "keys", "create", "--tenant", "nobody")
    assert missing.returncode == NotFound.exit_code and "medkb tenants create" in missing.stderr
    medkb(home, embed_cache, "tenants", "create", "t1")
    bad = medkb(home, embed_cache, "keys", "create", "--tenant", "t1", "--scopes", "root")
    assert bad.returncode == InputError.exit_code and "query, write, admin" in bad.stderr


def test_serve_without_auth_refuses_to_bind_beyond_localhost(
    tmp_path: Path, embed_cache: Path
) -> None:
    result = medkb(tmp_path, embed_cache, "serve", "--no-auth", "--host", "0.0.0.0")
    assert result.returncode == ConfigError.exit_code
    assert "127.0.0.1 only" in result.stderr


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path, embed_cache: Path) -> None:
    result = medkb(tmp_path, embed_cache, "serve", "--workers", "2")
    assert result.returncode == ConfigError.exit_code
    assert "PostgreSQL" in result.stderr
