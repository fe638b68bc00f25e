"""``medkb ingest`` on folders as users have them: the stock MedQuAD folder, nested docs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli import medkb

MEDQUAD_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "medquad-sample"


def test_stock_medquad_folder_ingests_with_exit_0_and_counts_skipped_files(
    tmp_path: Path, embed_cache: Path
) -> None:
    """Issue 9: readme.txt, LICENSE.txt and an empty <QAPairs> are skipped, not failures."""
    done = medkb(tmp_path / "home", embed_cache, "ingest", str(MEDQUAD_SAMPLE))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Ingested 4 file(s), 6 pair(s)" in done.stdout
    assert "Files: 0 failed, 3 skipped." in done.stdout
    for name in ("readme.txt", "LICENSE.txt", "0000056.xml"):
        assert name in done.stdout
    again = medkb(tmp_path / "home", embed_cache, "ingest", str(MEDQUAD_SAMPLE), "--json")
    report = json.loads(again.stdout)
    assert (report["failed_files"], report["unchanged"], report["created"]) == (0, 6, 0)
    assert sorted(Path(item["path"]).name for item in report["skipped_files"]) == [
        "0000056.xml",
        "LICENSE.txt",
        "readme.txt",
    ]


def test_same_named_files_in_nested_folders_keep_all_their_pairs(
    tmp_path: Path, embed_cache: Path
) -> None:
    """Issue 8 item 1, as reported: two faq.md under docs/; stats must count every pair."""
    for folder, topic in (("cardio", "heart"), ("onco", "cancer")):
        (tmp_path / "docs" / folder).mkdir(parents=True)
        (tmp_path / "docs" / folder / "faq.md").write_text(
            f"# FAQ\n\n## What should I eat?\n\nFood that is good for the {topic}.\n\n"
            f"## Where do I get help?\n\nAsk the {topic} clinic.\n",
            encoding="utf-8",
        )
    done = medkb(tmp_path / "home", embed_cache, "ingest", str(tmp_path / "docs"), "--json")
    assert done.returncode == 0, done.stderr
    assert (json.loads(done.stdout)["created"], json.loads(done.stdout)["removed"]) == (4, 0)
    stats = json.loads(medkb(tmp_path / "home", embed_cache, "stats", "--json").stdout)
    assert stats["relational_pairs"] == 4
