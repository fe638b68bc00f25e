"""The pure half of ``medkb sync verify``: comparing two ``{id: checksum}`` maps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from medkb.sync.verify import age_seconds, batches, compare

_maps = st.dictionaries(st.sampled_from("abcdefghij"), st.sampled_from(["x", "y", "z"]))


def test_missing_extra_and_stale_ids_are_told_apart() -> None:
    relational = {"a": "1", "b": "2", "c": "3"}
    vector = {"b": "2", "c": "changed", "ghost": "9"}
    report = compare(relational, vector, tenant_id="t", outbox_pending=4)
    assert (report.missing, report.extra, report.stale) == (["a"], ["ghost"], ["c"])
    assert (report.relational_count, report.vector_count, report.drift) == (3, 3, 3)
    assert not report.clean
    assert report.to_dict()["drift"] == 3 and report.to_dict()["outbox_pending"] == 4


def test_equal_maps_are_clean() -> None:
    report = compare({"a": "1"}, {"a": "1"}, tenant_id="t")
    assert report.clean and report.to_dict()["clean"] is True


@given(relational=_maps, vector=_maps)
def test_drift_partitions_the_ids_that_differ(
    relational: dict[str, str], vector: dict[str, str]
) -> None:
    report = compare(relational, vector, tenant_id="t")
    differing = {i for i in relational.keys() | vector.keys() if relational.get(i) != vector.get(i)}
    found = [*report.missing, *report.extra, *report.stale]
    assert sorted(found) == sorted(differing)
    assert report.clean == (relational == vector)


def test_batches_cover_every_item_once_in_order() -> None:
    assert list(batches(iter("abcdefg"), 3)) == [["a", "b", "c"], ["d", "e", "f"], ["g"]]
    assert list(batches([], 3)) == []


def test_age_reads_a_naive_timestamp_as_utc() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert age_seconds(datetime(2026, 1, 1, 11, 59, 30), now) == 30.0
    assert age_seconds(now - timedelta(seconds=5), now) == 5.0
    assert age_seconds(now + timedelta(seconds=5), now) == 0.0
