"""Driver errors become medkb errors at the relational store's boundary.

:func:`install` hooks SQLAlchemy's ``handle_error`` event on every engine medkb makes, so
the failures a user can cause or meet reach callers as :class:`~medkb.errors.StoreError`
subclasses that say what happened and what to do, chained to the driver's exception:

* the database cannot be reached, or the connection dropped → :class:`DatabaseUnavailable`;
* a write clashed with a concurrent writer (unique or foreign key violation, deadlock,
  serialization failure) → :class:`WriteConflict` (exit code 75: run it again);
* SQLite's write lock held past the busy timeout → :class:`WriteConflict` too;
* any other operational failure (disk full, read-only file, ...) →
  :class:`RelationalStoreError`.

Other driver errors (a programming error in SQL) are bugs, not a user's doing, and pass
through unchanged. Messages never show a password (:func:`medkb.redact.mask_url`).
"""

from __future__ import annotations

import sqlalchemy as sa

from medkb.errors import DatabaseUnavailable, RelationalStoreError, WriteConflict
from medkb.redact import mask_url, redact

#: SQLSTATEs of PostgreSQL errors a retry resolves: serialization failure, deadlock.
_RETRYABLE_STATES = frozenset({"40001", "40P01"})
_TRANSLATED = (sa.exc.OperationalError, sa.exc.IntegrityError, sa.exc.InterfaceError)


def install(engine: sa.Engine) -> None:
    """Translate ``engine``'s driver errors into medkb errors from now on."""
    sa.event.listen(engine, "handle_error", _on_error)


def _on_error(context: sa.engine.ExceptionContext) -> BaseException | None:
    error = context.sqlalchemy_exception
    if context.is_pre_ping or not isinstance(error, _TRANSLATED):
        return None  # a failed pre-ping only makes the pool reconnect
    where = shown_url(context.engine.url) if context.engine is not None else "the database"
    if context.connection is None:
        return translate(error, where=where, unreachable=True, connecting=True)
    return translate(error, where=where, unreachable=context.is_disconnect)


def shown_url(url: sa.URL) -> str:
    """A database URL safe to print."""
    return mask_url(url.render_as_string(hide_password=True))


def translate(
    error: sa.exc.DBAPIError, *, where: str, unreachable: bool, connecting: bool = False
) -> RelationalStoreError:
    """The medkb error for a driver ``error`` of the database at ``where``.

    Args:
        error: what SQLAlchemy raised.
        where: the database, safe to print.
        unreachable: the connection failed or dropped.
        connecting: it failed while connecting, so nothing was read or written.
    """
    detail = first_line(error.orig)
    state = getattr(error.orig, "sqlstate", None)
    if unreachable:
        outcome = (
            "nothing was done" if connecting else "the transaction in progress was rolled back"
        )
        return DatabaseUnavailable(
            f"Cannot reach the relational store at {where}: {detail}. Check that the "
            "database server is running and that MEDKB_DATABASE_URL points to it, then run "
            f"the command again; {outcome}."
        )
    if isinstance(error, sa.exc.IntegrityError) or state in _RETRYABLE_STATES:
        return WriteConflict(
            f"The relational store at {where} refused a write that clashes with rows "
            f"already there ({detail}). This happens when another medkb process writes the "
            "same pairs at the same moment: run the command again. The transaction was "
            "rolled back; nothing of it was saved."
        )
    if "locked" in detail or "busy" in detail:
        return WriteConflict(
            f"The relational store at {where} stayed locked by another writer past the 30 s "
            f"busy timeout ({detail}). Run the command again when the other medkb process "
            "has finished; nothing of this transaction was saved."
        )
    return RelationalStoreError(
        f"The relational store at {where} failed: {detail}. Check the database's disk "
        "space, permissions and server, then run the command again; the transaction in "
        "progress was rolled back."
    )


def driver_detail(error: BaseException) -> str:
    """The driver's own first line behind ``error``: a SQLAlchemy error's ``orig``, or the
    cause a translated medkb error was chained to."""
    return first_line(getattr(error, "orig", None) or error.__cause__ or error)


def first_line(error: BaseException | None) -> str:
    """The first line of a driver error's message, credentials masked."""
    lines = str(error or "unknown error").strip().splitlines()
    return redact(lines[0].rstrip(".") if lines else type(error).__name__)
