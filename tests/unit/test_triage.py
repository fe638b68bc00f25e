"""Triage: the development set and its split, each category, negation, numbers, the
informational look-alikes, the semantic step on the static embedder and the learned model.
(How long triage takes is measured by ``bench/safety.py triage``, not asserted here.)"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from medkb.answer import learned, semantic, triage
from medkb.answer.compose import Answerer
from medkb.answer.prototypes import CALM, SITUATIONS
from medkb.answer.redflag_cues import CATEGORIES
from medkb.config import AnswerSettings
from medkb.embed.static import StaticEmbedder

DATA = Path(__file__).parent.parent / "data"
TARGET_RECALL, MAX_FALSE_ALARMS = 0.98, 0.10


def _rows(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def _rates(rows: Sequence[dict[str, str]], match: triage.SemanticMatch | None = None) -> tuple:
    emergencies = [r for r in rows if r["label"] == "emergency"]
    lookalikes = [r for r in rows if r["label"] != "emergency"]
    missed = [r["text"] for r in emergencies if triage.assess(r["text"], match=match) is None]
    alarms = [r["text"] for r in lookalikes if triage.assess(r["text"], match=match) is not None]
    return 1 - len(missed) / len(emergencies), len(alarms) / len(lookalikes), missed, alarms


def _static_match(embedder: StaticEmbedder) -> triage.SemanticMatch:
    limits = AnswerSettings().triage_semantic["static"]
    return triage.SemanticMatch(embedder, limits["flag"], limits["boost"], limits["margin"])


# --- the development set --------------------------------------------------------------------


def test_the_development_set_is_big_covers_every_category_and_is_split_by_hash() -> None:
    rows = _rows("triage.jsonl")
    labels = Counter(row["label"] for row in rows)
    assert labels["emergency"] >= 300 and labels["lookalike"] >= 300
    per_category = Counter(row["category"] for row in rows if row["label"] == "emergency")
    assert set(per_category) == set(CATEGORIES)
    assert min(per_category.values()) >= 15
    assert len({row["text"] for row in rows}) == len(rows)
    for row in rows:  # the split was fixed by the text's hash before any tuning
        digest = int(hashlib.sha256(row["text"].encode()).hexdigest()[:8], 16)
        assert row["split"] == ("tune" if digest % 2 == 0 else "report")


def test_no_prototype_is_copied_from_a_labelled_message() -> None:
    texts = {row["text"].lower() for name in ("triage.jsonl", "triage_holdout.jsonl")
             for row in _rows(name)}  # fmt: skip
    prototypes = {t.lower() for group in (SITUATIONS, CALM) for ts in group.values() for t in ts}
    assert not texts & prototypes
    assert set(SITUATIONS) == set(CATEGORIES) == set(CALM)


def test_report_half_meets_the_targets_with_cues_and_numbers() -> None:
    report = [row for row in _rows("triage.jsonl") if row["split"] == "report"]
    recall, false_alarms, missed, alarms = _rates(report)
    assert recall >= TARGET_RECALL, missed
    assert false_alarms <= MAX_FALSE_ALARMS, alarms


def test_report_half_meets_the_targets_with_the_static_semantic_step(
    static_embedder: StaticEmbedder,
) -> None:
    report = [row for row in _rows("triage.jsonl") if row["split"] == "report"]
    recall, false_alarms, missed, alarms = _rates(report, _static_match(static_embedder))
    assert recall >= TARGET_RECALL, missed
    assert false_alarms <= MAX_FALSE_ALARMS, alarms


@pytest.mark.parametrize(
    "name",
    [
        "triage_holdout.jsonl",
        "triage_unseen.jsonl",
        "triage_fresh.jsonl",
        "triage_final.jsonl",
        "triage_last.jsonl",
        "red_flags.jsonl",
    ],
)
def test_every_other_labelled_set_stays_at_the_targets(name: str) -> None:
    """A regression guard: each set was measured once before it informed a cue
    (docs/safety.md gives those first numbers); none of them is unseen any more."""
    rows = [{**row, "text": row.get("text") or row["query"]} for row in _rows(name)]
    assert {row["label"] for row in rows} <= {"emergency", "lookalike", "not_emergency"}
    recall, false_alarms, missed, alarms = _rates(rows)
    assert recall >= TARGET_RECALL, missed
    assert false_alarms <= MAX_FALSE_ALARMS, alarms


# --- each category, negation, numbers, look-alikes -------------------------------------------


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("my uncle has a crushing pain in his chest and is grey and sweaty", "cardiac"),
        ("moms face is drooping on the left and her words come out slurred", "stroke"),
        ("my little girl can't breathe, her lips are going blue", "breathing"),
        ("ate a cashew and now my throat is closing", "anaphylaxis"),
        ("blood is spurting from his leg after the saw slipped", "bleeding"),
        ("my nephew swallowed a button battery", "poisoning"),
        ("she's been fitting for 7 minutes", "seizure"),
        ("diabetic husband, sugar 2.0 and confused", "glucose"),
        ("my flatmate is unresponsive and won't wake up", "consciousness"),
        ("fell off the roof and now he can't feel his legs", "head_spine"),
        ("fever and a rash that doesn't fade under a glass", "sepsis"),
        ("excruciating belly pain, rock hard stomach, vomiting", "abdomen"),
        ("sudden tearing pain through to my back", "vascular"),
        ("heart rate is 195 and I'm about to faint", "arrhythmia"),
        ("I'm 33 weeks pregnant and my waters broke", "obstetric"),
        ("my 5 week old baby has a temperature of 38.5", "infant"),
        ("boiling water poured over his arm, skin peeling off and blistering", "burns"),
        ("i'm going to kill myself tonight", "suicide"),
        ("grandpa in the heatwave, red hot dry skin, confused, not sweating", "heat_cold"),
        ("splashed drain cleaner in my eye", "eye"),
    ],
)
def test_each_category_is_recognised_with_its_evidence(text: str, category: str) -> None:
    found = triage.assess(text)
    assert found is not None and found.category == category, found
    assert found.score >= 1.0 and found.evidence and found.cue
    assert {item.kind for item in found.evidence} <= {"cue", "number", "prototype"}


@pytest.mark.parametrize(
    "text",
    [
        "no chest pain or shortness of breath, just tired",
        "she is not confused and has no fever, just a cough",
        "my son hit his head but there was no vomiting and he is not drowsy",
        "no bleeding, just a bruise",
    ],
)
def test_negated_symptoms_do_not_alarm(text: str) -> None:
    assert triage.assess(text) is None


@pytest.mark.parametrize(
    ("text", "category", "evidence"),
    [
        ("my blood sugar reads 35 and he is confused", "glucose", "glucose 35"),
        ("my dad's pulse is 32", "arrhythmia", "heart rate 32"),
        ("my 6 week old is 38.2", "infant", "temperature 38.2"),
        ("sats 85% and breathless", "breathing", "oxygen 85"),
        ("she took 25 of her sleeping tablets", "poisoning", "pills 25"),
        ("seizure has gone on for 6 mins", "seizure", "seizure min 6"),
        ("34 weeks pregnant and bp 170/112", "obstetric", "blood pressure 170/112"),
        ("core temperature 33 after a night outside", "heat_cold", "temperature 33"),
    ],
)
def test_dangerous_numbers_flag_and_are_named_as_evidence(
    text: str, category: str, evidence: str
) -> None:
    found = triage.assess(text)
    assert found is not None and found.category == category
    assert any(item.kind == "number" and item.text.startswith(evidence) for item in found.evidence)


@pytest.mark.parametrize(
    "text",
    [
        "my sugar was 2.9 yesterday, ate a snack and was fine",  # past
        "what should I do if a seizure lasts 5 minutes?",  # hypothetical
        "is a heart rate of 180 dangerous",  # general question
        "my 4 year old has a temperature of 38.4 but is playing",  # not an infant
        "my oxygen is 97% is that okay",
    ],
)
def test_numbers_in_the_past_in_questions_or_in_range_do_not_alarm(text: str) -> None:
    assert triage.assess(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "what are the signs of a stroke",
        "how to prevent a heart attack",
        "my dad had a heart attack last year, is walking good for him?",
        "what should i do if my child swallows a battery",
        "what are the symptoms of anaphylaxis",
        "signs of sepsis in the elderly",
        "how do I recognise heat stroke before a marathon?",
        "what is a normal blood sugar level",
        "I had a seizure in 2015, can I drive now?",
        "this traffic is killing me",
    ],
)
def test_informational_look_alikes_do_not_alarm(text: str) -> None:
    assert triage.assess(text) is None


def test_a_glucose_in_mg_per_dl_is_named_in_mmol_with_its_unit() -> None:
    found = triage.assess("blood sugar 45 mg/dl, shaky and confused")
    assert found is not None and found.category == "glucose"
    numbers = [item.text for item in found.evidence if item.kind == "number"]
    assert numbers == ["glucose 2.5 mmol/L, read as mg/dL ('blood sugar 45 mg/dl')"]


def test_suicide_wins_over_another_flagged_category() -> None:
    found = triage.assess("i swallowed all my pills because i dont want to be here anymore")
    assert found is not None and found.category == "suicide"


def test_a_message_that_says_it_is_over_needs_more_than_one_cue() -> None:
    assert triage.assess("hot coffee spilled on my hand, red for a bit, now fine") is None


# --- the semantic step -------------------------------------------------------------------


class CountingEmbedder:
    """The static embedder, counting the texts it embeds."""

    def __init__(self, inner: StaticEmbedder, model_id: str) -> None:
        self.inner, self.model_id, self.dimension = inner, model_id, inner.dimension
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.texts += len(texts)
        return self.inner.embed(texts)


def test_prototypes_are_embedded_once_per_model(static_embedder: StaticEmbedder) -> None:
    counting = CountingEmbedder(static_embedder, "test/counting-once")
    first = semantic.prototype_index(counting)
    embedded = counting.texts
    assert embedded == sum(map(len, SITUATIONS.values())) + sum(map(len, CALM.values()))
    assert semantic.prototype_index(counting) is first and counting.texts == embedded


def test_the_query_vector_is_reused_when_given(static_embedder: StaticEmbedder) -> None:
    counting = CountingEmbedder(static_embedder, "test/counting-reuse")
    match = triage.SemanticMatch(counting, flag=0.6, boost=0.6, margin=0.0)
    text = "my mother is seeing things that are not there"
    vector = static_embedder.embed([text])[0]
    semantic.prototype_index(counting)
    before = counting.texts
    triage.assess(text, match=match, vector=vector)
    assert counting.texts == before
    triage.assess(text, match=match)
    assert counting.texts == before + 1


def test_a_situation_the_cues_only_half_see_is_completed_by_the_nearest_prototype(
    static_embedder: StaticEmbedder,
) -> None:
    text = "my mother is seeing things that are not there"
    assert triage.assess(text) is None  # one half-weight cue
    match = triage.SemanticMatch(static_embedder, flag=0.6, boost=0.6, margin=0.0)
    found = triage.assess(text, match=match)
    assert found is not None and found.category == "consciousness"
    assert any(item.kind == "prototype" for item in found.evidence)


def test_the_semantic_step_skips_framed_questions(static_embedder: StaticEmbedder) -> None:
    match = triage.SemanticMatch(static_embedder, flag=0.0, boost=0.0, margin=-2.0)
    for text in ("what are the signs of a heart attack", "what should I do if someone faints"):
        assert triage.assess(text, match=match) is None


@pytest.mark.minilm
def test_report_half_meets_the_targets_with_the_minilm_semantic_step() -> None:
    from medkb.embed.minilm import MiniLMEmbedder

    encoder = MiniLMEmbedder(device="cpu")
    limits = AnswerSettings().triage_semantic["minilm"]
    match = triage.SemanticMatch(encoder, limits["flag"], limits["boost"], limits["margin"])
    report = [row for row in _rows("triage.jsonl") if row["split"] == "report"]
    vectors = encoder.embed([row["text"] for row in report])  # one batch: MiniLM is slow
    found = [
        (row, triage.assess(row["text"], match=match, vector=vector))
        for row, vector in zip(report, vectors, strict=True)
    ]
    missed = [row["text"] for row, got in found if row["label"] == "emergency" and not got]
    alarms = [row["text"] for row, got in found if row["label"] != "emergency" and got]
    emergencies = sum(row["label"] == "emergency" for row in report)
    assert 1 - len(missed) / emergencies >= TARGET_RECALL, missed
    assert len(alarms) / (len(report) - emergencies) <= MAX_FALSE_ALARMS, alarms


# --- the learned model -------------------------------------------------------------------------

LABELLED_SETS = (
    "triage.jsonl", "triage_holdout.jsonl", "triage_unseen.jsonl", "triage_fresh.jsonl",
    "triage_final.jsonl", "triage_last.jsonl", "red_flags.jsonl", "triage_blind_a.jsonl",
    "triage_blind_b.jsonl", "triage_blind_c.jsonl", "triage_blind_d.jsonl",
    "triage_blind_e.jsonl", "triage_blind_f.jsonl", "triage_blind_g.jsonl",
    "triage_blind_h.jsonl",
)  # fmt: skip
BLIND_SETS = LABELLED_SETS[-8:]


def test_the_blind_sets_cover_every_category_in_both_labels() -> None:
    for name in BLIND_SETS:
        rows = _rows(name)
        assert {row["category"] for row in rows} == set(CATEGORIES)
        counts = Counter((row["category"], row["label"]) for row in rows)
        assert all(counts[(c, "emergency")] >= 10 and counts[(c, "lookalike")] >= 6
                   for c in CATEGORIES)  # fmt: skip


@pytest.mark.parametrize("name", LABELLED_SETS)
def test_with_the_model_every_labelled_set_stays_at_the_targets(name: str) -> None:
    """A regression guard: the model was trained on all of these (docs/safety.md gives the
    blind sets' first measurements, before the model or the cues had seen them)."""
    model = learned.shipped_model()
    rows = [{**row, "text": row.get("text") or row["query"]} for row in _rows(name)]
    emergencies = [r["text"] for r in rows if r["label"] == "emergency"]
    calm = [r["text"] for r in rows if r["label"] != "emergency"]
    missed = [t for t in emergencies if triage.assess(t, model=model) is None]
    alarms = [t for t in calm if triage.assess(t, model=model) is not None]
    assert 1 - len(missed) / len(emergencies) >= TARGET_RECALL, missed
    assert len(alarms) / len(calm) <= MAX_FALSE_ALARMS, alarms


def test_real_questions_the_model_never_read_are_not_emergencies() -> None:
    """The held-out halves of the MEDIQA and BioASQ questions and of the off-topic chat:
    before they were calm training examples, the model flagged 22 of the 709 BioASQ ones
    ("List the major families of Histones": no known word, and 20 of 21 classes are
    emergencies)."""
    rows = _rows("questions_heldout.jsonl")
    assert len(rows) > 800
    model = learned.shipped_model()
    flagged = [row["text"] for row in rows if triage.assess(row["text"], model=model)]
    assert len(flagged) / len(rows) <= 0.02, flagged
    bioasq = [row["text"] for row in rows if row["source"].startswith("bioasq")]
    assert len([text for text in bioasq if triage.assess(text, model=model)]) <= 3


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("my implanted defibrillator shocked me 3 times in 10 minutes", "arrhythmia"),
        ("wrote letters to my family, i have a plan for tomorrow", "suicide"),
        ("Granny suddenly thinks it's 1975 and is trying to climb out the window", "consciousness"),
        (
            "my son dropped during football practice, his heartbeat is all over the place",
            "arrhythmia",
        ),
    ],
)
def test_the_model_catches_what_no_cue_foresaw(text: str, category: str) -> None:
    assert triage.assess(text) is None  # cues, numbers: nothing
    found = triage.assess(text, model=learned.shipped_model())
    assert found is not None and found.category == category
    assert found.evidence[0].kind == "model" and "learned model: emergency" in found.cue


@pytest.mark.parametrize(
    "text",
    [
        "this exam is killing me",
        "what are the signs of a stroke",
        "my sugar was 110 this morning",
        "I was laughing so hard I couldn't breathe haha",
        "how long should I wait to swim after eating",
    ],
)
def test_the_model_leaves_questions_idioms_and_normal_numbers_alone(text: str) -> None:
    assert triage.assess(text, model=learned.shipped_model()) is None


@pytest.mark.parametrize("text", ["chest pain", "wheezing", "asthma wheezing inhaler"])
def test_a_search_of_a_few_words_is_not_asked_of_the_model(text: str) -> None:
    """Keyword searches read like the model's emergencies; under four words it keeps out."""
    assert triage.assess(text, model=learned.shipped_model()) is None
    assert triage.assess("I can't breathe", model=learned.shipped_model()) is not None
    assert triage.assess(f"my dad has {text} right now", model=learned.shipped_model())


def test_a_usual_state_is_a_baseline_not_a_resolved_message() -> None:
    """Blind sets a, c, d, f and g: "usually she's very active" says what is normal, and an
    emergency report sets now against it."""
    for text in (
        "37 weeks and baby hasnt moved all day, she's usually super active",
        "My mother with dementia is usually chatty but since yesterday she's extremely drowsy",
    ):
        assert triage.weigh(text).resolved is False
    assert triage.weigh("i sometimes get pins and needles in my hand when i sleep on it").resolved


def test_the_models_flag_holds_in_a_message_that_sounds_resolved() -> None:
    """The model read "he feels fine" too: at ``flag`` it weighs 1.5, the resolved bar."""
    found = triage.Assessment(scores={"eye": 1.0}, resolved=True)
    assert found.verdict() is None
    guess = learned.Guess(emergency=0.99, category="eye", probability=0.99)
    triage.add_learned(found, guess, flag=0.6, boost=0.5)
    assert found.verdict() is not None and found.scores["eye"] == 2.5


def test_was_fine_with_a_time_of_onset_is_not_a_resolved_message() -> None:
    """Blind set c: "he was fine at lunch" read as "it is over" and the stroke needed 1.5."""
    for text in (
        "my grandad's face just went droopy on one side and his words are all jumbled, he was "
        "fine at lunch",
        "husband suddenly dizzy cant walk, seeing double, slurring, 2 hours ago he was fine",
    ):
        assert triage.weigh(text).resolved is False and triage.assess(text) is not None
    assert triage.weigh("felt a bit shaky before lunch, had a sandwich and was fine").resolved


def test_the_model_half_completes_a_category_the_cues_half_see() -> None:
    found = triage.Assessment(scores={"stroke": 0.5})
    guess = learned.Guess(emergency=0.5, category="stroke", probability=0.4)
    triage.add_learned(found, guess, flag=0.625, boost=0.425)
    assert found.scores["stroke"] == 1.0 and found.verdict() is not None
    alone = triage.Assessment()
    triage.add_learned(alone, guess, flag=0.625, boost=0.425)
    assert alone.verdict() is None  # below flag, and nothing to complete


def test_the_model_file_round_trips(tmp_path: Path) -> None:
    model = learned.shipped_model()
    assert set(model.classes) == {*CATEGORIES, learned.CALM}
    assert 0.0 < model.boost <= model.flag < 1.0
    model.save(tmp_path / "copy.npz")
    copy = learned.Model.load(tmp_path / "copy.npz")
    norm = "my dad is grey and sweaty and his chest hurts"
    assert np.allclose(copy.probabilities(norm), model.probabilities(norm), atol=1e-6)
    assert copy.flag == model.flag and copy.boost == model.boost


def test_answers_use_the_model_unless_it_is_turned_off() -> None:
    text = "my implanted defibrillator shocked me 3 times in 10 minutes"
    on = Answerer(AnswerSettings(), embedder="static").answer(text, text, [])
    assert on.info.safety is not None and on.info.safety["category"] == "arrhythmia"
    assert on.info.safety["evidence"][0]["kind"] == "model"
    off = Answerer(AnswerSettings(triage_model=False), embedder="static").answer(text, text, [])
    assert off.info.safety is None
