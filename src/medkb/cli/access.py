"""``medkb tenants``, ``medkb keys`` and ``medkb audit``: who may use the HTTP API.

These commands open only the relational store (no embedding model is loaded).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from medkb.cli.context import console, handled, print_json, state
from medkb.cli.help import TidyGroup

if TYPE_CHECKING:  # imported where used: `medkb --help` loads no database driver
    import sqlalchemy as sa

    from medkb.access import keys

T = TypeVar("T")
tenants_app = typer.Typer(
    cls=TidyGroup,
    help="Tenants: each sees only its own pairs, queries and logs.\n\n"
    "Example: medkb tenants create st-marys",
)
keys_app = typer.Typer(
    cls=TidyGroup,
    help="API keys of the HTTP service (stored hashed; shown once).\n\n"
    "Example: medkb keys create --tenant st-marys --scopes query,write",
)
audit_app = typer.Typer(
    cls=TidyGroup,
    help="The audit log of every write and admin action.\n\nExample: medkb audit list",
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@contextmanager
def _engine(ctx: typer.Context) -> Iterator[sa.Engine]:
    from medkb.stores.relational import engine as relational

    settings = state(ctx).settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = relational.make_engine(settings.resolved_database_url())
    try:
        relational.upgrade(engine)
        yield engine
    finally:
        engine.dispose()


def _run(ctx: typer.Context, work: Callable[[sa.Engine], T]) -> T:
    with handled(), _engine(ctx) as engine:
        return work(engine)


def _cli_audit(engine: sa.Engine, tenant_id: str, action: str, target: str, **detail: Any) -> None:
    from medkb.access import audit

    audit.record(
        engine,
        audit.AuditEntry(
            tenant_id=tenant_id, actor="cli", action=action, target=target, detail=detail
        ),
    )


@tenants_app.command("create")
def tenants_create(
    ctx: typer.Context,
    tenant_id: Annotated[str, typer.Argument(metavar="TENANT", help="Tenant id.")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the id).")] = None,
) -> None:
    """Add a tenant.

    Example: medkb tenants create st-marys --name "St Mary's Hospital"
    """
    from medkb.access import keys

    def work(engine: sa.Engine) -> None:
        keys.create_tenant(engine, tenant_id, name=name)
        _cli_audit(engine, tenant_id, "tenant.create", tenant_id)

    _run(ctx, work)
    console.print(f"Tenant {tenant_id} created.")


@tenants_app.command("list")
def tenants_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List tenants and their pair counts.

    Example: medkb tenants list --json
    """
    from medkb.access import keys

    found = _run(ctx, keys.list_tenants)
    if json_out:
        print_json(found)
        return
    for t in found:
        console.print(f"{t['id']}\t{t['name']}\t{t['pairs']} pairs", highlight=False)


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option(help="The tenant the key acts for.")],
    scopes: Annotated[str, typer.Option(help="Comma list of query, write, admin.")] = "query",
    name: Annotated[str, typer.Option(help="A label, e.g. the client's name.")] = "",
    json_out: JsonOpt = False,
) -> None:
    """Make an API key; it is printed once and cannot be shown again.

    Example: medkb keys create --tenant st-marys --scopes query,write --name web-app
    """
    from medkb.access import keys

    def work(engine: sa.Engine) -> keys.IssuedKey:
        issued = keys.create_key(engine, tenant_id=tenant, scopes=scopes.split(","), name=name)
        _cli_audit(engine, tenant, "key.create", issued.key_id, scopes=issued.scopes)
        return issued

    _print_issued(_run(ctx, work), json_out)


def _print_issued(issued: keys.IssuedKey, json_out: bool) -> None:
    if json_out:
        print_json(issued.to_dict())
        return
    console.print(
        f"Key {issued.key_id} for tenant {issued.tenant_id} ({','.join(issued.scopes)}):",
        highlight=False,
    )
    console.print(issued.secret, highlight=False, soft_wrap=True)
    console.print("Store it now: it is not kept and cannot be shown again.")


@keys_app.command("list")
def keys_list(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's keys.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """List keys (never their secrets).

    Example: medkb keys list --tenant st-marys
    """
    from medkb.access import keys

    found = _run(ctx, lambda engine: keys.list_keys(engine, tenant_id=tenant))
    if json_out:
        print_json(found)
        return
    for k in found:
        state_ = "revoked" if k["revoked_at"] else "active"
        console.print(
            f"{k['id']}\t{k['tenant_id']}\t{k['prefix']}…\t{','.join(k['scopes'])}\t{state_}"
            f"\t{k['name']}",
            highlight=False,
        )


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context, key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="Key id.")]
) -> None:
    """Revoke a key at once.

    Example: medkb keys revoke key_0123456789abcdef
    """
    from medkb.access import keys

    def work(engine: sa.Engine) -> None:
        found = {k["id"]: k for k in keys.list_keys(engine)}
        keys.revoke_key(engine, key_id)
        _cli_audit(engine, found[key_id]["tenant_id"], "key.revoke", key_id)

    _run(ctx, work)
    console.print(f"Key {key_id} revoked.")


@keys_app.command("rotate")
def keys_rotate(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="Key id.")],
    json_out: JsonOpt = False,
) -> None:
    """Revoke a key and print its replacement (same tenant and scopes), once.

    Example: medkb keys rotate key_0123456789abcdef
    """
    from medkb.access import keys

    def work(engine: sa.Engine) -> keys.IssuedKey:
        issued = keys.rotate_key(engine, key_id)
        _cli_audit(engine, issued.tenant_id, "key.rotate", key_id, new_key=issued.key_id)
        return issued

    _print_issued(_run(ctx, work), json_out)


@audit_app.command("list")
def audit_list(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's entries.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest entries shown.")] = 50,
    json_out: JsonOpt = False,
) -> None:
    """Show the newest audit entries.

    Example: medkb audit list --tenant st-marys --limit 20
    """
    from medkb.access import audit

    found = _run(ctx, lambda engine: audit.entries(engine, tenant_id=tenant, limit=limit))
    if json_out:
        print_json(found)
        return
    for e in found:
        console.print(
            f"{e['at']}\t{e['tenant_id']}\t{e['actor']}\t{e['action']}\t{e['target'] or ''}"
            f"\t{e['ip'] or ''}\t{e['request_id'] or ''}",
            highlight=False,
        )
