"""Keeping credentials out of what medkb prints: messages, logs, reports and manifests.

Settings hold secrets as :class:`pydantic.SecretStr`, so a ``repr`` of them is safe; but a
URL is often formatted into a message (which database could not be reached, which vector
store refused a write). Every such URL goes through :func:`mask_url`, and the CLI passes
every message it prints through :func:`redact` as a last net, so a password reaches
neither a terminal nor a log file.

    >>> mask_url("postgresql://medkb:s3cret@db:5432/kb")
    'postgresql://medkb:***@db:5432/kb'
"""

from __future__ import annotations

import re

#: What a hidden secret is replaced with.
MASK = "***"

# ``scheme://user:password@host``: the password runs to the last '@' of the token (a
# password may hold '@' or ':' when it was not percent-encoded), so masking errs towards
# hiding more, never less.
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s'\"<>]*):(?P<secret>[^\s'\"<>]*)@"
)
# ``password=...`` in libpq conninfo strings and query strings, and bearer tokens.
_KEY_VALUE = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd|api_key|apikey|secret|token|access_key|"
    r"secret_access_key)\s*=\s*)(?P<secret>[^\s&;,'\"]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<head>\bBearer\s+)(?P<secret>[^\s'\"]+)", re.IGNORECASE)


def mask_url(url: str | None) -> str:
    """``url`` with its password (and any ``password=`` parameter) replaced by ``***``.

    Anything that is not a URL with credentials comes back unchanged; ``None`` gives ``''``.
    """
    return redact(url or "")


def redact(text: str) -> str:
    """``text`` with every credential it contains masked: URL passwords, ``password=…``
    parameters and ``Bearer`` tokens."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}:{MASK}@", text)
    text = _KEY_VALUE.sub(lambda m: f"{m['head']}{MASK}", text)
    return _BEARER.sub(lambda m: f"{m['head']}{MASK}", text)
