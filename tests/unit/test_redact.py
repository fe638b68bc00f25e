"""Credentials never reach what medkb prints: the masking helper and the secret settings."""

from __future__ import annotations

import pytest

from medkb.config import LLMSettings, Settings, load_settings
from medkb.errors import ConfigError
from medkb.redact import mask_url, redact

SECRET = "s3cret"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://user:s3cret@127.0.0.1:1/db", "postgresql://user:***@127.0.0.1:1/db"),
        ("postgresql+psycopg://u:s3cret@h/db", "postgresql+psycopg://u:***@h/db"),
        ("pgvector+postgresql://u:s3cret@h:5432/kb", "pgvector+postgresql://u:***@h:5432/kb"),
        ("http://root:s3cret@milvus:19530", "http://root:***@milvus:19530"),
        ("postgresql://u:s3c@ret@h/db", "postgresql://u:***@h/db"),  # '@' not %-encoded
        (
            "postgresql://h/db?password=s3cret&sslmode=require",
            "postgresql://h/db?password=***&sslmode=require",
        ),
        ("host=h dbname=kb password=s3cret", "host=h dbname=kb password=***"),
        ("postgresql://medkb@db:5432/kb", "postgresql://medkb@db:5432/kb"),
        ("sqlite:////tmp/kb/medkb.db", "sqlite:////tmp/kb/medkb.db"),
        ("local", "local"),
    ],
)
def test_mask_url_hides_the_password_and_nothing_else(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_redact_masks_every_url_in_a_message() -> None:
    message = (
        "Cannot reach 'postgresql://a:s3cret@h1/db' nor http://b:s3cret@h2:19530 "
        "(Authorization: Bearer s3cret)."
    )
    assert SECRET not in redact(message)
    assert "postgresql://a:***@h1/db" in redact(message)


def test_settings_repr_and_dump_hide_database_and_vector_urls_and_the_llm_key() -> None:
    settings = Settings(
        database_url=f"postgresql://user:{SECRET}@127.0.0.1:1/db",
        vector_url=f"pgvector+postgresql://user:{SECRET}@127.0.0.1:1/db",
    )
    llm = LLMSettings(url="http://llm:8000/v1", api_key=SECRET)
    for shown in (repr(settings), str(settings), settings.model_dump_json(), repr(llm)):
        assert SECRET not in shown
    assert settings.resolved_database_url() == f"postgresql+psycopg://user:{SECRET}@127.0.0.1:1/db"
    assert SECRET in settings.resolved_vector_url()


def test_a_secret_setting_assigned_later_stays_secret() -> None:
    settings = Settings()
    settings.database_url = f"postgresql://user:{SECRET}@h/db"  # type: ignore[assignment]
    assert SECRET not in repr(settings)
    assert settings.resolved_database_url().endswith(f":{SECRET}@h/db")


def test_an_unsupported_database_url_is_refused_without_its_password() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings(database_url=f"mysql://user:{SECRET}@h/db")
    assert SECRET not in str(raised.value)
    assert "mysql://user:***@h/db" in str(raised.value)


def test_invalid_settings_name_the_variable_and_hide_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDKB_SYNC_STRATEGY", SECRET)
    monkeypatch.setenv("MEDKB_GRAPH__SIMILAR_K", "999")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert "MEDKB_SYNC_STRATEGY" in message and "MEDKB_GRAPH__SIMILAR_K" in message
    assert SECRET not in message
