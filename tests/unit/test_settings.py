"""Settings: every one documented, defaults sensible, bad values named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from medkb.config import Settings, load_settings
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


# --- a YAML file per environment ----------------------------------------------------------


def _config(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "medkb.prod.yaml"
    path.write_text(text)
    monkeypatch.setenv("MEDKB_CONFIG", str(path))
    return path


def test_a_yaml_file_sets_values_under_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config(
        tmp_path,
        "embedder: static\ngraph:\n  similar_k: 9\n  similar_threshold: 0.7\n"
        "answer:\n  emergency_number: '000'\nresilience:\n  breaker:\n    llm: {failures: 2}\n",
        monkeypatch,
    )
    monkeypatch.setenv("MEDKB_GRAPH__SIMILAR_K", "3")  # the environment wins
    settings = load_settings()
    assert settings.embedder == "static" and settings.answer.emergency_number == "000"
    assert settings.graph.similar_k == 3 and settings.graph.similar_threshold == 0.7
    assert settings.resilience.breaker["llm"].failures == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("embeder: static\n", "unknown setting(s) embeder"),
        ("graph:\n  similar_kk: 9\n", "unknown setting(s) graph.similar_kk"),
        ("- a list\n", "must be a mapping"),
        ("graph: [unclosed\n", "not valid YAML"),
    ],
)
def test_a_bad_yaml_file_is_refused_naming_the_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    path = _config(tmp_path, text, monkeypatch)
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        load_settings()
    assert f"MEDKB_CONFIG={path}" in str(caught.value)


def test_a_bad_value_in_the_yaml_file_is_refused_like_an_environment_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config(tmp_path, "graph:\n  similar_k: -4\n", monkeypatch)
    with pytest.raises(ConfigError, match="MEDKB_GRAPH__SIMILAR_K"):
        load_settings()


def test_a_missing_yaml_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDKB_CONFIG", str(tmp_path / "nowhere.yaml"))
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_settings()
