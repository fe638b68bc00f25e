"""Tenants and API keys: create, list, revoke, rotate, authenticate.

A key reads ``mk_<prefix>_<secret>``: the prefix (12 hex digits, random) finds the row and
the secret carries 256 random bits. Only the SHA-256 of the whole key is stored, so a key
is shown once, when it is made, and cannot be recovered from the database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from medkb.errors import InputError, NotFound
from medkb.stores.relational import access
from medkb.sync.apply import utcnow

#: Every scope a key may hold: ``query`` reads and asks, ``write`` changes data, ``admin``
#: reads the audit log and checks the stores.
SCOPES = ("query", "write", "admin")
_TENANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TOUCH_EVERY = timedelta(seconds=60)
_KEY = re.compile(r"^mk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key, its tenant and what it may do."""

    key_id: str
    tenant_id: str
    scopes: frozenset[str]

    def may(self, scope: str) -> bool:
        """Whether this caller holds ``scope``."""
        return scope in self.scopes


@dataclass(frozen=True)
class IssuedKey:
    """A key just made: ``secret`` is the only copy of the key there will ever be."""

    key_id: str
    tenant_id: str
    name: str
    scopes: list[str]
    secret: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, secret included."""
        return {
            "id": self.key_id,
            "tenant_id": self.tenant_id,
            "name": self.name,
            "scopes": self.scopes,
            "key": self.secret,
        }


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_scopes(scopes: Iterable[str]) -> list[str]:
    """Validate scope names; keep them in :data:`SCOPES` order."""
    wanted = {s.strip() for s in scopes if s.strip()}
    unknown = wanted - set(SCOPES)
    if unknown or not wanted:
        raise InputError(
            f"Unknown or missing scopes {sorted(unknown) or '(none)'}; choose from "
            f"{', '.join(SCOPES)}, e.g. --scopes query,write."
        )
    return [s for s in SCOPES if s in wanted]


def create_tenant(engine: sa.Engine, tenant_id: str, *, name: str | None = None) -> None:
    """Add a tenant; refuse a malformed or taken id."""
    if not _TENANT_ID.match(tenant_id):
        raise InputError(
            f"Tenant id {tenant_id!r} is not valid: use 1-64 letters, digits, '.', '_' or "
            "'-', starting with a letter or digit."
        )
    with engine.begin() as conn:
        if access.tenant_exists(conn, tenant_id):
            raise InputError(f"Tenant {tenant_id!r} exists already; 'medkb tenants list'.")
        access.insert_tenant(conn, tenant_id, name=name or tenant_id, now=utcnow())


def list_tenants(engine: sa.Engine) -> list[dict[str, Any]]:
    """Every tenant with its pair count."""
    with engine.connect() as conn:
        return access.list_tenants(conn)


def create_key(
    engine: sa.Engine, *, tenant_id: str, scopes: Collection[str], name: str = ""
) -> IssuedKey:
    """Make a key for ``tenant_id``; the returned secret is shown once and never stored."""
    chosen = parse_scopes(scopes)
    with engine.begin() as conn:
        if not access.tenant_exists(conn, tenant_id):
            raise NotFound(
                f"No tenant {tenant_id!r}; create it first: medkb tenants create {tenant_id}"
            )
        return _insert_key(conn, tenant_id=tenant_id, scopes=chosen, name=name)


def _insert_key(conn: sa.Connection, *, tenant_id: str, scopes: list[str], name: str) -> IssuedKey:
    prefix = secrets.token_hex(6)
    secret = f"mk_{prefix}_{secrets.token_urlsafe(32)}"
    key_id = "key_" + secrets.token_hex(8)
    access.insert_key(
        conn,
        {
            "id": key_id,
            "tenant_id": tenant_id,
            "name": name or key_id,
            "prefix": prefix,
            "hash": hash_key(secret),
            "scopes": scopes,
            "created_at": utcnow(),
        },
    )
    return IssuedKey(key_id, tenant_id, name or key_id, scopes, secret)


def list_keys(engine: sa.Engine, *, tenant_id: str | None = None) -> list[dict[str, Any]]:
    """Keys (without secrets or hashes), of one tenant when given."""
    with engine.connect() as conn:
        rows = access.list_keys(conn, tenant_id=tenant_id)
    return [_public(row) for row in rows]


def _public(row: sa.Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "name": row.name,
        "prefix": f"mk_{row.prefix}_",
        "scopes": list(row.scopes),
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "revoked_at": row.revoked_at,
    }


def revoke_key(engine: sa.Engine, key_id: str, *, tenant_id: str | None = None) -> None:
    """Revoke a key at once; ``tenant_id`` (when given) must own it."""
    with engine.begin() as conn:
        row = access.key_by_id(conn, key_id)
        if row is None or (tenant_id is not None and row.tenant_id != tenant_id):
            raise NotFound(f"No API key {key_id!r}; 'medkb keys list' shows the ids.")
        if not access.revoke_key(conn, key_id, now=utcnow()):
            raise InputError(f"API key {key_id!r} is revoked already.")


def rotate_key(engine: sa.Engine, key_id: str, *, tenant_id: str | None = None) -> IssuedKey:
    """Revoke a key and issue its replacement (same tenant, name and scopes) in one step."""
    with engine.begin() as conn:
        row = access.key_by_id(conn, key_id)
        if row is None or (tenant_id is not None and row.tenant_id != tenant_id):
            raise NotFound(f"No API key {key_id!r}; 'medkb keys list' shows the ids.")
        if not access.revoke_key(conn, key_id, now=utcnow()):
            raise InputError(f"API key {key_id!r} is revoked; create a new one instead.")
        return _insert_key(conn, tenant_id=row.tenant_id, scopes=list(row.scopes), name=row.name)


def authenticate(engine: sa.Engine, key: str) -> Principal | None:
    """The caller a presented key stands for, or None for a wrong, unknown or revoked key.

    ``last_used_at`` is refreshed at most once a minute, so reads do not all write.
    """
    match = _KEY.match(key.strip())
    if match is None:
        return None
    with engine.connect() as conn:
        row = access.key_by_prefix(conn, match.group(1))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.hash, hash_key(key.strip())):
        return None
    now = utcnow()
    if row.last_used_at is None or _aware(row.last_used_at) < now - _TOUCH_EVERY:
        with engine.begin() as conn:
            access.touch_key(conn, row.id, now=now)
    return Principal(row.id, row.tenant_id, frozenset(row.scopes))


def _aware(value: datetime) -> datetime:
    """A naive timestamp (SQLite) read as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
