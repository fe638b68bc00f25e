"""A newcomer's first five minutes with ``medkb``: every help example runs, bad values are
refused with exit 2, read commands do not create homes, and the text output is readable.

Most commands run in-process through Typer's ``CliRunner`` (a subprocess per command costs
a second of start-up); ``test_help_example_runs_as_a_real_process`` keeps one real one.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from medkb.cli.main import app
from medkb.demo import demo_files
from medkb.stream.events import make_event
from tests.api.server import server_env, start_command
from tests.fixtures_servers import free_port

#: Examples that need a service or a slow model, run by the marked tests below instead.
NEEDS_POSTGRES = ("postgresql://",)
NEEDS_MINILM = ("--embedder minilm",)
#: Examples that serve until stopped, run as a real process by their own test below.
SERVES = ("medkb serve ", "medkb ui ")
#: What a file name in an example stands for, when it is not made by an earlier example.
BACKUP_PLACEHOLDER = "./backups/medkb-backup-20261123T060000.000Z"
KEY_PLACEHOLDER = "key_0123456789abcdef"
#: The tenant the access examples name; made first for every example but its own creation.
TENANT = "st-marys"


def commands() -> dict[str, typer.main.TyperCommand]:
    """Every command by its full name (``sync verify``), in registration order."""
    group = typer.main.get_group(app)
    found: dict[str, typer.main.TyperCommand] = {}
    for name, command in group.commands.items():
        sub = getattr(command, "commands", None)
        if sub:
            found.update({f"{name} {k}": v for k, v in sub.items()})
        else:
            found[name] = command  # type: ignore[assignment]
    return found


def examples() -> list[str]:
    """Every ``Example: medkb ...`` line of every command's help, in order."""
    lines: list[str] = []
    for command in commands().values():
        text = re.sub(r"\s*\n\s*", " ", command.help or "")
        lines += re.findall(r"Example: (medkb .+?)(?=\s+Example:|$)", text)
    # Exports before the import that reads their file; backups before the restore.
    return sorted(lines, key=lambda line: ("import " in line, " restore " in line))


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory, embed_cache: Path) -> Path:
    """The demo knowledge base (static embedder), built once for the module."""
    home = tmp_path_factory.mktemp("demo") / "home"
    env = {"MEDKB_CACHE_DIR": str(embed_cache), "MEDKB_EMBEDDER": "static"}
    done = CliRunner().invoke(app, ["--home", str(home), "demo"], env=env)
    assert done.exit_code == 0, done.output
    return home


@pytest.fixture
def workdir(
    tmp_path: Path, demo_home: Path, embed_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A working directory whose ./medkb-data is a copy of the demo, as a user's would be."""
    shutil.copytree(demo_home, tmp_path / "medkb-data")
    monkeypatch.chdir(tmp_path)
    for key in [key for key in os.environ if key.startswith("MEDKB_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("MEDKB_CACHE_DIR", str(embed_cache))
    yield tmp_path


def invoke(*args: str, env: dict[str, str] | None = None) -> typer.testing.Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})


def prepare_inputs(folder: Path) -> None:
    """The files the examples name: a folder and a PDF to ingest, a BEIR-style data set."""
    (folder / "guidelines").mkdir()
    (folder / "guidelines" / "sleep.md").write_text(
        "# Sleep\n\n## How much sleep do teenagers need?\n\nTeenagers need 8 to 10 hours of "
        "sleep a night for health, mood and learning.\n"
    )
    shutil.copy(next(p for p in demo_files() if p.suffix == ".pdf"), folder / "faq.pdf")
    demo_jsonl = next(p for p in demo_files() if p.suffix == ".jsonl")
    rows = [json.loads(line) for line in demo_jsonl.read_text().splitlines()]
    with (
        (folder / "corpus.jsonl").open("w") as corpus,
        (folder / "queries.jsonl").open("w") as queries,
    ):
        for row in rows[:10]:
            corpus.write(
                json.dumps({"id": row["id"], "question": row["question"], "answer": row["answer"]})
                + "\n"
            )
            queries.write(json.dumps({"id": "q" + row["id"], "query": row["question"]}) + "\n")
    (folder / "events.jsonl").write_text(json.dumps(_upsert_event("stream-gout")) + "\n")
    fixed = _upsert_event("stream-fixed")
    fixed = make_event("qa.upserted", fixed["payload"])  # a whole event: id and time too
    (folder / "fixed-event.json").write_text(json.dumps(fixed))
    (folder / "qrels.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"q{r['id']}\t{r['id']}\t1\n" for r in rows[:10])
    )


def _upsert_event(qa_id: str) -> dict[str, Any]:
    payload = {"id": qa_id, "question": "What is gout?", "response": "A painful arthritis."}
    return {"type": "qa.upserted", "version": 1, "payload": payload}


def dead_letter_id(folder: Path) -> str:
    """A dead letter on the examples' topic: an event with no payload, sent without
    checks and consumed once."""
    (folder / "broken.jsonl").write_text('{"type": "qa.upserted", "version": 1}\n')
    bus = ("--bus", "db", "--topic", "medkb-events")
    assert invoke("produce", str(folder / "broken.jsonl"), *bus, "--raw").exit_code == 0
    invoke("worker", *bus, "--group", "examples", "--once")
    listed = invoke("dlq", "list", *bus, "--json")
    assert listed.exit_code == 0, listed.output
    return str(json.loads(listed.output)[-1]["id"])


def argv(example: str, folder: Path) -> list[str]:
    """The example's arguments, with the one placeholder (a timestamped backup) filled in."""
    if BACKUP_PLACEHOLDER in example:
        made = sorted((folder / "backups").glob("medkb-backup-*"))
        assert made, "the backup example runs before the restore example"
        example = example.replace(BACKUP_PLACEHOLDER, str(made[-1]))
    return shlex.split(example)[1:]


def arrange(example: str, args: list[str]) -> list[str]:
    """Make what ``example`` takes as given (the tenant it names, the key it revokes, the
    dead letter it shows) in the demo home; return its arguments with the made ids in place
    of the placeholders."""
    if example.startswith(("medkb dlq show ", "medkb dlq replay ")):
        args = [*args[:2], dead_letter_id(Path.cwd()), *args[3:]]  # its id stands third
    names_tenant = TENANT in example or KEY_PLACEHOLDER in args
    if names_tenant and not example.startswith(f"medkb tenants create {TENANT}"):
        assert invoke("tenants", "create", TENANT).exit_code == 0
    if KEY_PLACEHOLDER not in args:
        return args
    made = invoke("keys", "create", "--tenant", TENANT, "--json")
    assert made.exit_code == 0, made.output
    key_id = json.loads(made.output)["id"]
    return [key_id if arg == KEY_PLACEHOLDER else arg for arg in args]


def test_every_help_example_runs_against_the_demo(workdir: Path, demo_home: Path) -> None:
    prepare_inputs(workdir)
    runnable = [
        e
        for e in examples()
        if not any(mark in e for mark in NEEDS_POSTGRES + NEEDS_MINILM) and not e.startswith(SERVES)
    ]
    assert len(runnable) >= 15
    for example in runnable:
        shutil.rmtree(workdir / "medkb-data")
        shutil.copytree(demo_home, workdir / "medkb-data")
        args = arrange(example, argv(example, workdir))
        done = invoke(*args, env={"MEDKB_EMBEDDER": "static"})
        assert done.exit_code == 0, f"{example}\n{done.output}"


@pytest.mark.postgres
def test_help_examples_that_name_postgres_run_against_a_real_database(
    workdir: Path, pg_url: str
) -> None:
    for example in [e for e in examples() if any(mark in e for mark in NEEDS_POSTGRES)]:
        args = [re.sub(r"^postgresql://\S+$", pg_url, arg) for arg in argv(example, workdir)]
        done = invoke(*args)
        assert done.exit_code == 0, f"{example}\n{done.output}"


def test_help_example_runs_as_a_real_process(workdir: Path, embed_cache: Path) -> None:
    import medkb

    source = str(Path(medkb.__file__).resolve().parents[1])  # this checkout, from any cwd
    env = {**os.environ, "MEDKB_CACHE_DIR": str(embed_cache), "COLUMNS": "200"}
    env["PYTHONPATH"] = os.pathsep.join([source, env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "medkb.cli", "get", "demo-012"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "What are the warning signs of a stroke?" in done.stdout


def test_the_serve_example_serves_the_demo_until_stopped(workdir: Path, embed_cache: Path) -> None:
    """Run as a real process: in-process it would serve forever. Tests listen on 127.0.0.1
    only, on a free port, so those two options of the example are swapped."""
    (example,) = [e for e in examples() if e.startswith("medkb serve ")]
    port = free_port()
    args = with_option(argv(example, workdir), "--host", "127.0.0.1")
    args = with_option(args, "--port", str(port))
    env = server_env(workdir / "medkb-data", None, embed_cache)
    server = start_command(
        [sys.executable, "-m", "medkb.cli", *args], port, env, workdir / "serve.log"
    )
    try:
        with server.client() as client:
            assert client.get("/health/ready").status_code == 200, server.log.read_text()
    finally:
        server.stop()
    # Uvicorn shuts down cleanly on SIGTERM, then re-raises it: the exit is the signal's.
    assert server.process.returncode in (0, -signal.SIGTERM), server.log.read_text()
    assert "Application shutdown complete" in server.log.read_text()


def with_option(args: list[str], option: str, value: str) -> list[str]:
    """``args`` with ``option``'s value replaced (the option must be there)."""
    at = args.index(option)
    return [*args[: at + 1], value, *args[at + 2 :]]


def test_demo_help_example_does_not_misplace_the_global_home_option() -> None:
    """``medkb demo --home DIR`` was shown, and fails: --home is a global option."""
    demo = [e for e in examples() if e.endswith(" demo")]
    assert demo == ["medkb --home ./medkb-demo demo"]


def test_help_examples_name_ids_that_exist_in_the_demo(workdir: Path) -> None:
    for name in ("get", "update", "delete"):
        (example,) = [e for e in examples() if e.startswith(f"medkb {name} ")]
        qa_id = shlex.split(example)[2]
        assert invoke("get", qa_id, "--json").exit_code == 0, example


def test_help_shows_no_python_type_labels() -> None:
    for name in ["", *commands()]:
        done = invoke(*name.split(), "--help")
        assert done.exit_code == 0, name
        for noise in ("<bool>", "<str>", "<list[", "<int>", "<Path>", "<float>"):
            assert noise not in done.output, (name, noise)


def test_version_option_prints_the_version() -> None:
    from medkb import __version__

    done = invoke("--version")
    assert done.exit_code == 0 and done.output.strip() == f"medkb {__version__}"


@pytest.mark.parametrize(
    "args",
    [
        ["query", "stroke", "--top-k", "-3"],
        ["query", "stroke", "--top-k", "0"],
        ["query", "stroke", "--mode", "foo"],
        ["query", "stroke", "--depth", "5"],
        ["feedback", "1", "--rating", "9"],
    ],
)
def test_out_of_range_query_options_are_usage_errors(workdir: Path, args: list[str]) -> None:
    done = invoke(*args)
    assert done.exit_code == 2, done.output
    assert "Invalid value" in done.output


def test_set_is_active_maybe_is_refused_and_leaves_the_pair_active(workdir: Path) -> None:
    """``--set is_active=maybe`` silently deactivated the pair."""
    done = invoke("update", "demo-012", "--set", "is_active=maybe")
    assert done.exit_code == 2 and "is_active must be true or false" in done.output
    pair = json.loads(invoke("get", "demo-012", "--json").output)
    assert pair["metadata"]["is_active"] is True
    assert invoke("update", "demo-012", "--set", "is_active=no").exit_code == 0
    assert json.loads(invoke("get", "demo-012", "--json").output)["metadata"]["is_active"] is False


@pytest.mark.parametrize("args", [["query", "stroke"], ["stats"], ["get", "demo-012"]])
def test_read_commands_do_not_create_a_missing_home(tmp_path: Path, args: list[str]) -> None:
    home = tmp_path / "typo"
    done = invoke("--home", str(home), *args, env={"MEDKB_EMBEDDER": "static"})
    assert done.exit_code == 66
    assert "no knowledge base" in done.output and "ingest" in done.output
    assert not home.exists()


def test_not_found_hint_names_a_command_that_shows_ids(workdir: Path) -> None:
    """The hint said 'medkb stats' lists ids; it does not."""
    done = invoke("get", "no-such-id")
    assert done.exit_code == 66
    assert "stats" not in done.output and "medkb query" in done.output


def test_get_prints_readable_fields_and_an_unwrapped_url(workdir: Path) -> None:
    url = "https://www.example.org/health/" + "very-long-path-segment/" * 8 + "page.html"
    faq = workdir / "faq.jsonl"
    faq.write_text(
        json.dumps(
            {
                "id": "faq-1",
                "question": "What is a stroke?",
                "answer": "A stroke happens when blood flow to part of the brain stops.",
                "tags": "stroke, brain",
                "url": url,
            }
        )
        + "\n"
    )
    assert invoke("ingest", str(faq)).exit_code == 0
    done = CliRunner().invoke(app, ["get", "faq-1"], env={"COLUMNS": "80"})
    assert done.exit_code == 0, done.output
    for repr_noise in ("['", "None", "{'", "True"):
        assert repr_noise not in done.output, repr_noise
    assert "stroke, brain" in done.output
    assert url in done.output  # one line: a terminal can still open it


def test_stats_prints_no_none(workdir: Path) -> None:
    done = invoke("stats")
    assert done.exit_code == 0 and "None" not in done.output
    assert "avg_rating" in done.output


def test_export_to_standard_output(workdir: Path) -> None:
    done = invoke("export", "--format", "jsonl", "--output", "-")
    assert done.exit_code == 0, done.output
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 69 and {"id", "question", "response"} <= set(rows[0])
    assert not (workdir / "-").exists()


def test_demo_says_where_and_what_next_and_times_only_when_verbose(
    tmp_path: Path, embed_cache: Path
) -> None:
    env = {"MEDKB_CACHE_DIR": str(embed_cache), "MEDKB_EMBEDDER": "static", "COLUMNS": "200"}
    home = tmp_path / "demo"
    done = CliRunner().invoke(app, ["--home", str(home), "demo"], env=env)
    assert done.exit_code == 0, done.output
    assert done.output.startswith("Ingested ")  # no leading blank line
    assert f"The demo knowledge base is in {home}" in done.output
    assert len(re.findall(rf"^  medkb --home {re.escape(str(home))} ", done.output, re.M)) == 3
    assert "query_log_id" not in done.output
    verbose = CliRunner().invoke(app, ["--home", str(home), "demo", "--verbose"], env=env)
    assert "query_log_id" in verbose.output and " ms" in verbose.output


def test_kb_opens_with_its_recorded_embedder_and_refuses_an_explicit_other(
    workdir: Path,
) -> None:
    stats = json.loads(invoke("stats", "--json").output)  # no --embedder, no MEDKB_EMBEDDER
    assert stats["embedding_model"].startswith("medkb/static")
    refused = invoke("--embedder", "minilm", "stats")
    assert refused.exit_code == 78 and "was built with" in refused.output
    refused_env = invoke("stats", env={"MEDKB_EMBEDDER": "minilm"})
    assert refused_env.exit_code == 78
