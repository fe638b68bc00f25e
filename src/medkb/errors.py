"""medkb's exceptions: one tree, so callers can catch as broadly or narrowly as they need.

    MedkbError
    ├── ConfigError              a setting is wrong or missing; names the setting to change
    ├── DependencyMissing        an optional driver is not installed; names the extra
    ├── InputError               bad input from the caller
    │   ├── UnreadableDocument   a file that cannot be read or parsed
    │   ├── EmptyDocument        a file with no usable text / no Q&A pairs
    │   ├── FieldTooLong         a question or response over the SPEC limits
    │   └── InvalidBackup        a corrupt, partial or incompatible backup (medkb restore)
    ├── NotFound                 an unknown Q&A id, query log id, ...
    ├── EmbedderMismatch         the KB was built with another embedding model
    ├── LLMError                 the LLM answer endpoint failed (answers fall back)
    └── StoreError               a store failed
        ├── RelationalStoreError
        │   ├── DatabaseUnavailable  the database cannot be reached (or dropped the link)
        │   └── WriteConflict    a write clashed with a concurrent writer; run it again
        ├── VectorStoreError
        ├── ObjectStoreError
        └── SyncPending          the record is committed but the vector store lags

Every message says what went wrong and what to do about it.
"""

from __future__ import annotations


class MedkbError(Exception):
    """Base of every error medkb raises on purpose."""

    #: Process exit code the CLI uses for this class of error.
    exit_code = 1
    #: HTTP status the API maps this class of error to.
    http_status = 500


class ConfigError(MedkbError):
    exit_code = 78
    http_status = 500


class DependencyMissing(MedkbError):
    exit_code = 78


class InputError(MedkbError):
    exit_code = 65
    http_status = 400


class UnreadableDocument(InputError):
    pass


class EmptyDocument(InputError):
    pass


class FieldTooLong(InputError):
    pass


class InvalidBackup(InputError):
    """A backup that must not be restored: corrupt, partial or made by an incompatible medkb."""


class NotFound(MedkbError):
    exit_code = 66
    http_status = 404


class EmbedderMismatch(MedkbError):
    exit_code = 78
    http_status = 409


class LLMError(MedkbError):
    exit_code = 69
    http_status = 502


class StoreError(MedkbError):
    exit_code = 69
    http_status = 503


class RelationalStoreError(StoreError):
    pass


class DatabaseUnavailable(RelationalStoreError):
    """The relational database cannot be reached: server down, wrong URL, link dropped."""


class WriteConflict(RelationalStoreError):
    """A write clashed with another writer (unique violation, deadlock, SQLite lock).

    The transaction was rolled back whole; running the command again resolves it.
    """

    exit_code = 75  # EX_TEMPFAIL: try again
    http_status = 409


class VectorStoreError(StoreError):
    pass


class ObjectStoreError(StoreError):
    pass


class SyncPending(StoreError):
    """The relational write committed, but applying it to the vector store failed.

    Nothing is lost: the outbox keeps the change and a later apply (the next write,
    ``medkb sync repair`` or a worker) brings the vector store up to date.
    """

    def __init__(self, message: str, *, pending_ids: list[str]) -> None:
        super().__init__(message)
        self.pending_ids = pending_ids


def missing_dependency(package: str, extra: str, purpose: str) -> DependencyMissing:
    """Build the error for a lazily imported driver that is not installed."""
    return DependencyMissing(
        f"{purpose} needs the '{package}' package, which is not installed. "
        f"Install it with: pip install 'medkb[{extra}]'"
    )
