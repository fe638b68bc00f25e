"""What a user sees when things go wrong: one paragraph and an exit code, never a traceback
or a password, and nothing of what was refused in the knowledge base."""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import medkb.demo
from tests.fixtures_servers import free_port

SECRET = "s3cret"
GOOD_IDS = {"good-alpha", "good-beta", "good-gamma"}


def cli(
    home: Path, cache: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m medkb.cli ARGS`` as a user runs it, with ``env`` on top of the defaults."""
    base = {
        **os.environ,
        "MEDKB_HOME": str(home),
        "MEDKB_EMBEDDER": "static",
        "MEDKB_CACHE_DIR": str(cache),
        "COLUMNS": "200",
    }
    for name in ("MEDKB_DATABASE_URL", "MEDKB_VECTOR_URL", "MEDKB_DEBUG"):
        base.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "medkb.cli", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    for stream in (done.stdout, done.stderr):
        assert "Traceback" not in stream and 'File "' not in stream, stream


def zip_bomb_docx(path: Path, *, unpacked_mib: int) -> Path:
    """The demo .docx with ``word/document.xml`` padded to ``unpacked_mib`` MiB of empty
    paragraphs: a few hundred KB on disk."""
    demo = Path(medkb.demo.__file__).with_name("diabetes-care.docx")
    with zipfile.ZipFile(demo) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename != "word/document.xml":
                out.writestr(item, data)
                continue
            head, body, tail = data.partition(b"<w:body>")
            with out.open(item.filename, "w", force_zip64=True) as part:
                part.write(head + body)
                for _ in range(unpacked_mib):
                    part.write(b"<w:p/>" * (2**20 // 6))
                part.write(tail)
    return path


def broken_corpus(folder: Path) -> dict[str, str]:
    """One good JSONL next to a file of each kind of broken input; name → what is wrong."""
    folder.mkdir()
    good = [
        {
            "id": f"good-{w}",
            "question": f"What is {w} fever?",
            "answer": f"{w.title()} fever "
            "is an illness with a high temperature that a doctor treats with rest and fluids.",
        }
        for w in ("alpha", "beta", "gamma")
    ]
    (folder / "good.jsonl").write_text("".join(json.dumps(g) + "\n" for g in good))
    first = json.dumps({"id": "truncated-1", "question": "Is this kept?", "answer": "No, never."})
    (folder / "truncated.jsonl").write_text(first + '\n{"id": "truncated-2", "question": "Wh')
    text = "What is asthma?\n\nAsthma is a long-term disease of the airways of the lungs.\n"
    (folder / "utf16.txt").write_bytes(text.encode("utf-16-le"))
    rng = random.Random(8)
    (folder / "random.txt").write_bytes(bytes(rng.getrandbits(8) for _ in range(4096)))
    (folder / "random.md").write_bytes(bytes(rng.getrandbits(8) for _ in range(4096)))
    (folder / "empty.jsonl").write_bytes(b"")
    (folder / "empty.md").write_bytes(b"")
    (folder / "columns.csv").write_text("id,title\n1,hello\n")
    (folder / "fake.pdf").write_bytes(b"this is not a PDF, only text with a .pdf name\n" * 20)
    zip_bomb_docx(folder / "bomb.docx", unpacked_mib=100)
    with (folder / "huge.txt").open("wb") as huge:
        huge.write(b"Hypertension is high blood pressure; it is treated with drugs.\n" * 16_000)
        huge.truncate(200 * 10**6)  # sparse: 200 MB without writing them
    return {
        "truncated.jsonl": "line 2 is not valid JSON",
        "utf16.txt": "UTF-16 text without a byte-order mark",
        "random.txt": "binary data",
        "random.md": "binary data",
        "empty.jsonl": "is empty",
        "empty.md": "is empty",
        "columns.csv": "no answer column",
        "fake.pdf": "damaged or truncated",
        "bomb.docx": "bomb",
        "huge.txt": "MEDKB_INGEST__MAX_FILE_MB",
    }


def test_a_folder_of_broken_files_next_to_a_good_one_loads_the_good_one_only(
    tmp_path: Path, embed_cache: Path
) -> None:
    home, folder = tmp_path / "home", tmp_path / "inbox"
    latin1 = "# Fever\n\n## What is a caf\xe9 fever?\n\nA caf\xe9 fever is made up for tests.\n"
    expected = broken_corpus(folder)
    (folder / "latin1.md").write_bytes(latin1.encode("latin-1"))  # read, with a warning

    done = cli(home, embed_cache, "ingest", str(folder))

    assert done.returncode == 65, done.stderr
    assert_no_traceback(done)
    shown = " ".join((done.stdout + done.stderr).split())
    for name, problem in expected.items():
        assert f"{name}: " in shown and problem in shown, (name, shown)
    stats = json.loads(cli(home, embed_cache, "stats", "--json").stdout)
    assert stats["relational_pairs"] == stats["vector_pairs"] == len(GOOD_IDS) + 1
    for qa_id in GOOD_IDS:
        assert cli(home, embed_cache, "get", qa_id).returncode == 0
    refused = cli(home, embed_cache, "get", "truncated-1")  # its file was refused whole
    assert refused.returncode == 66 and "No Q&A pair" in refused.stderr
    exported = tmp_path / "kb.jsonl"
    assert (
        cli(home, embed_cache, "export", "--format", "jsonl", "-o", str(exported)).returncode == 0
    )
    documents = {
        source["document"]
        for line in exported.read_text().splitlines()
        for source in json.loads(line)["sources"]
    }
    assert documents == {"inbox/good.jsonl", "inbox/latin1.md"}  # ids: path in the folder
    verified = cli(home, embed_cache, "sync", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # The 100 MiB zip bomb unpacked would take gigabytes; no child got near that.
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 1_500_000  # KiB


def test_import_of_a_relation_confidence_of_7_is_refused_and_writes_nothing(
    tmp_path: Path, embed_cache: Path
) -> None:
    record = {
        "id": "imported-1",
        "question": "What is gout?",
        "response": "Gout is arthritis caused by uric acid crystals in a joint.",
        "relations": [{"target_id": "imported-2", "type": "similar_to", "confidence": 7}],
    }
    other = {**record, "id": "imported-2", "relations": []}
    path = tmp_path / "import.jsonl"
    path.write_text(json.dumps(other) + "\n" + json.dumps(record) + "\n")
    home = tmp_path / "home"

    done = cli(home, embed_cache, "import", str(path))

    assert done.returncode == 65, done.stdout + done.stderr
    assert_no_traceback(done)
    message = " ".join(done.stderr.split())
    assert "line 2" in message and "'confidence' must lie in [0, 1], not 7" in message
    assert json.loads(cli(home, embed_cache, "stats", "--json").stdout)["relational_pairs"] == 0


def test_a_dead_database_gives_a_clear_message_without_the_password_or_a_traceback(
    tmp_path: Path, embed_cache: Path
) -> None:
    url = f"postgresql://medkb:{SECRET}@127.0.0.1:{free_port()}/kb"
    faq = tmp_path / "faq.md"
    faq.write_text("# Gout\n\n## What is gout?\n\nGout is a painful arthritis of the joints.\n")
    env = {"MEDKB_DATABASE_URL": url}
    commands = [["stats"], ["ingest", str(faq)], ["sync", "verify"], ["get", "x"]]
    for args in commands:
        done = cli(tmp_path / "home", embed_cache, *args, env=env)
        assert done.returncode == 69, (args, done.stdout, done.stderr)
        assert_no_traceback(done)
        assert SECRET not in done.stdout + done.stderr
        message = " ".join(done.stderr.split())
        assert "Cannot reach the relational store at postgresql+psycopg://medkb:***@" in message
        assert "MEDKB_DATABASE_URL" in message


def test_an_invalid_setting_is_named_without_a_traceback(tmp_path: Path, embed_cache: Path) -> None:
    done = cli(tmp_path / "home", embed_cache, "stats", env={"MEDKB_SYNC_STRATEGY": "sometimes"})
    assert done.returncode == 78
    assert_no_traceback(done)
    assert "MEDKB_SYNC_STRATEGY" in done.stderr


UNEXPECTED = f"""
from medkb.cli.context import MedkbTyper
from medkb.errors import InputError

app = MedkbTyper(pretty_exceptions_enable=False)

@app.command()
def fail() -> None:
    raise RuntimeError("stuck on postgresql://medkb:{SECRET}@db/kb")

@app.command()
def refuse() -> None:
    raise InputError("refused postgresql://medkb:{SECRET}@db/kb; give another one")

app()
"""


def test_an_unexpected_error_is_one_paragraph_unless_debugging(tmp_path: Path) -> None:
    script = tmp_path / "unexpected.py"
    script.write_text(UNEXPECTED)
    env = {key: value for key, value in os.environ.items() if key != "MEDKB_DEBUG"}

    def run(command: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(script), command],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )

    done = run("fail")
    assert done.returncode == 70
    assert_no_traceback(done)
    message = " ".join(done.stderr.split())
    assert "unexpected RuntimeError: stuck on postgresql://medkb:***@db/kb" in message
    assert "MEDKB_DEBUG=1" in message and SECRET not in message

    refused = run("refuse")  # a medkb error outside a command's handled() block
    assert refused.returncode == 65
    assert_no_traceback(refused)
    assert "refused postgresql://medkb:***@db/kb" in refused.stderr
    assert SECRET not in refused.stderr

    debug = run("fail", MEDKB_DEBUG="1")
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_a_home_that_is_a_file_is_named_without_a_traceback(
    tmp_path: Path, embed_cache: Path
) -> None:
    home = tmp_path / "not-a-folder"
    home.write_text("")
    done = cli(home, embed_cache, "stats")
    assert done.returncode == 78
    assert_no_traceback(done)
    assert "Cannot use" in done.stderr and "--home" in done.stderr
