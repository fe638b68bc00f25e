"""Start-up cost: ``medkb --help`` and opening a knowledge base import only what they use.

Each check runs in a fresh interpreter and inspects ``sys.modules``, because an import
made by any earlier test would hide a regression here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import medkb
from medkb.demo import demo_files
from medkb.embed import minilm, static
from medkb.embed.registry import EMBEDDER_NAMES
from medkb.stores.relational.engine import head_revision, shipped_head

SOURCE = str(Path(medkb.__file__).resolve().parents[1])
#: Libraries that take from a tenth of a second (faiss, alembic) to seconds (torch) to import.
HEAVY = (
    "torch", "sentence_transformers", "transformers", "faiss", "alembic", "pandas", "pyarrow",
    "opentelemetry",
)  # fmt: skip
#: What ``--help`` needs none of either: the database layer and arrays. (Typer itself
#: imports pydantic to check option values.)
STORE_LAYER = ("sqlalchemy", "numpy")


def imported_after(
    code: str, env: dict[str, str] | None = None, *, watched: tuple[str, ...] = HEAVY
) -> set[str]:
    """Top-level packages among ``watched`` that ``code`` leaves imported."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join([SOURCE, environment.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stdout.splitlines()[-1])
    return {name.split(".")[0] for name in modules} & set(watched)


def test_help_imports_no_heavy_library() -> None:
    """``--help`` took 1.5 s: it imported the whole package, alembic and faiss included;
    later the access commands brought SQLAlchemy back."""
    code = (
        "from typer.testing import CliRunner\n"
        "from medkb.cli.main import app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "assert CliRunner().invoke(app, ['query', '--help']).exit_code == 0"
    )
    assert imported_after(code, watched=HEAVY + STORE_LAYER) == set()


def test_static_query_imports_neither_torch_nor_alembic(tmp_path: Path, embed_cache: Path) -> None:
    """A query with the static embedder imported torch's stack (via sentence-transformers)
    and alembic on every call; the model needs numpy and tokenizers only."""
    home = tmp_path / "home"
    with medkb.open(home, embedder="static", cache_dir=embed_cache) as kb:
        kb.ingest(demo_files()[:1])  # creates and migrates the database: alembic runs here
    code = (
        "import medkb\n"
        f"with medkb.open({str(home)!r}, cache_dir={str(embed_cache)!r}) as kb:\n"
        "    assert kb.query('What are the warning signs of a stroke?').hits"
    )
    loaded = imported_after(code)
    assert not loaded & {"torch", "sentence_transformers", "transformers", "alembic"}
    assert "opentelemetry" not in loaded  # spans are no-ops until a tracer provider is set


def test_stats_builds_no_index_and_loads_no_answerer(tmp_path: Path, embed_cache: Path) -> None:
    """``medkb stats`` loaded faiss (and built three indexes), the triage tables and the
    ingest pipeline to print counts."""
    home = tmp_path / "home"
    with medkb.open(home, embedder="static", cache_dir=embed_cache) as kb:
        kb.ingest(demo_files()[:1])
    code = (
        "import medkb\n"
        f"with medkb.open({str(home)!r}, cache_dir={str(embed_cache)!r}) as kb:\n"
        "    assert kb.stats()['vector_pairs'] > 0\n"
        "import sys\n"
        "assert 'medkb.answer.triage' not in sys.modules, 'triage'\n"
        "assert 'medkb.ingest.pipeline' not in sys.modules, 'pipeline'"
    )
    assert imported_after(code) == set()


def test_shipped_head_matches_alembic() -> None:
    """The head read from the migration files without alembic is alembic's own head."""
    assert shipped_head() == head_revision()


def test_embedder_names_match_the_model_ids() -> None:
    assert EMBEDDER_NAMES == {minilm.MODEL_ID: "minilm", static.MODEL_ID: "static"}


def test_cli_export_formats_match_the_exporter() -> None:
    from medkb.cli import transfer
    from medkb.transfer.export import FORMATS
    from medkb.transfer.sqlscript import DEFAULT_TABLE

    assert transfer.FORMATS == FORMATS and transfer.DEFAULT_TABLE == DEFAULT_TABLE
