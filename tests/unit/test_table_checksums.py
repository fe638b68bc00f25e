"""The order-independent table checksum of ``medkb migrate`` (pure, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from medkb.relocate.checksums import TableDigest, canonical

rows = st.lists(st.tuples(st.text(max_size=8), st.integers(), st.floats(allow_nan=False)))


@given(rows, st.randoms())
def test_the_digest_does_not_depend_on_row_order(table: list[tuple], rng: object) -> None:
    shuffled = list(table)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert TableDigest.of(table) == TableDigest.of(shuffled)


def test_a_duplicated_or_changed_row_changes_the_digest() -> None:
    table = [("a", 1), ("b", 2)]
    assert TableDigest.of(table) != TableDigest.of([*table, ("a", 1)])
    assert TableDigest.of(table) != TableDigest.of([("a", 1), ("b", 3)])
    assert TableDigest.of([]) == TableDigest(rows=0, checksum="0" * 64)


def test_backend_representations_of_one_value_agree() -> None:
    naive = datetime(2026, 11, 23, 6, 0, 0, 123456)
    assert canonical(naive) == canonical(naive.replace(tzinfo=UTC))
    plus_two = timezone(timedelta(hours=2))
    assert canonical(naive.replace(tzinfo=UTC)) == canonical(
        naive.replace(tzinfo=UTC).astimezone(plus_two)
    )
    assert canonical(["flu", "fever"]) == canonical(("flu", "fever"))
    assert canonical({"b": 1, "a": [1.5]}) == canonical({"a": [1.5], "b": 1})
    assert canonical(b"\x00\x01") == canonical(memoryview(b"\x00\x01"))
    assert canonical(date(2026, 1, 2)) == "2026-01-02"
    assert canonical(True) != canonical(1) and canonical(None) != canonical("")
