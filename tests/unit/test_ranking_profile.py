"""Fusion dispatch (``combine``) and the per-embedder ranking profiles of SearchSettings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from medkb.config import DEFAULT_RANKING, RankingProfile, SearchSettings, Settings
from medkb.embed.minilm import MODEL_ID as MINILM_ID
from medkb.embed.static import MODEL_ID as STATIC_ID
from medkb.search.fusion import FUSION_METHODS, combine, fuse, fuse_scores

RANKINGS = {
    "dense:question": [("a", 0.9), ("b", 0.8), ("c", 0.1)],
    "keyword": [("c", 12.0), ("b", 11.5), ("d", 1.0)],
}


def test_combine_dispatches_to_rrf_and_to_score_fusion() -> None:
    weights = {"dense:question": 1.0, "keyword": 2.0}
    assert combine(RANKINGS, method="rrf", weights=weights, k=10) == fuse(
        RANKINGS, weights=weights, k=10
    )
    for method in ("minmax", "zscore"):
        assert combine(RANKINGS, method=method, weights=weights) == fuse_scores(
            RANKINGS, weights=weights, method=method
        )


def test_score_fusion_uses_the_gaps_that_rrf_ignores() -> None:
    # "b" is a close second in both lists; "a" wins dense by far but is last in keyword.
    rankings = {
        "dense": [("a", 0.9), ("b", 0.2), ("c", 0.1), ("d", 0.05)],
        "keyword": [("d", 5.0), ("b", 4.9), ("a", 1.0)],
    }
    assert combine(rankings, method="rrf")[0][0] == "a"
    best, score = combine(rankings, method="minmax")[0]
    assert best == "b"
    assert score == pytest.approx(0.5 * (0.15 / 0.85) + 0.5 * (3.9 / 4.0))


def test_combine_refuses_an_unknown_method() -> None:
    with pytest.raises(ValueError, match="rrf, minmax, zscore"):
        combine(RANKINGS, method="borda")  # type: ignore[arg-type]
    assert FUSION_METHODS == ("rrf", "minmax", "zscore")


def test_each_shipped_embedder_has_a_profile() -> None:
    settings = SearchSettings()
    assert settings.ranking(STATIC_ID) == settings.profiles[STATIC_ID]
    assert settings.ranking(MINILM_ID) == settings.profiles[MINILM_ID]
    assert settings.ranking("someone/else") == DEFAULT_RANKING
    assert all(p.fusion in FUSION_METHODS for p in settings.profiles.values())


def test_explicit_settings_override_the_profile_and_the_rest_is_kept() -> None:
    settings = SearchSettings(keyword_weight=4.0, fusion="rrf")
    ranking = settings.ranking(STATIC_ID)
    profile = settings.profiles[STATIC_ID]
    assert (ranking.keyword_weight, ranking.fusion) == (4.0, "rrf")
    assert (ranking.fields, ranking.dense_weight) == (profile.fields, profile.dense_weight)


def test_environment_sets_an_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDKB_SEARCH__FUSION", "zscore")
    monkeypatch.setenv("MEDKB_SEARCH__FIELDS", '["response"]')
    ranking = Settings().search.ranking(MINILM_ID)
    assert ranking.fusion == "zscore" and ranking.fields == ["response"]


def test_bad_profiles_and_overrides_are_refused() -> None:
    with pytest.raises(ValidationError):
        SearchSettings(fusion="borda")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        SearchSettings(keyword_weight=-1)
    with pytest.raises(ValidationError):
        RankingProfile(fields=[], dense_weight=1, keyword_weight=1, fusion="rrf")
