"""Settings: every one documented, defaults sensible, bad values named."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from medkb.config import Settings
from medkb.errors import ConfigError


def _fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for name, info in model.model_fields.items():
        found.append((prefix + name, info.description))
        nested = info.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            found.extend(_fields(nested, prefix=f"{prefix}{name}."))
    return found


def test_every_setting_has_help_text() -> None:
    undocumented = [name for name, text in _fields(Settings) if not text]
    assert undocumented == []


def test_defaults_are_embedded_in_the_home_directory(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path.resolve() / 'medkb.db'}"
    assert settings.resolved_vector_url() == "local"
    assert settings.resolved_object_dir() == tmp_path / "objects"
    assert settings.sync_strategy == "realtime"


def test_environment_is_read_with_the_medkb_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDKB_EMBEDDER", "static")
    monkeypatch.setenv("MEDKB_GRAPH__SIMILAR_K", "8")
    monkeypatch.setenv("MEDKB_DATABASE_URL", "postgresql://u@h/db")
    settings = Settings()
    assert settings.embedder == "static" and settings.graph.similar_k == 8
    assert settings.resolved_database_url() == "postgresql+psycopg://u@h/db"


def test_an_unsupported_database_is_refused_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match="MEDKB_DATABASE_URL"):
        Settings(database_url="mysql://root@localhost/test")
