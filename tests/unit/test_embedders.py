"""The embedders: the Embedder contract, semantics, the static model's cache and its pooling."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medkb.embed import minilm as minilm_module
from medkb.embed import static
from medkb.embed.base import Embedder
from medkb.embed.minilm import MiniLMEmbedder
from medkb.embed.registry import EMBEDDERS, open_embedder
from medkb.embed.static import StaticEmbedder
from medkb.errors import ConfigError

QUESTION = "What are the symptoms of high blood pressure?"
RELATED = "Signs of hypertension include headaches, shortness of breath and nosebleeds."
UNRELATED = "How is a broken ankle treated?"
TEXTS = [QUESTION, RELATED, UNRELATED, "Flu vaccines are recommended every year."]


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    embedder = MiniLMEmbedder()
    embedder.load()
    return embedder


@pytest.fixture(params=["static", pytest.param("minilm", marks=pytest.mark.minilm)], scope="module")
def embedder(request: pytest.FixtureRequest) -> Embedder:
    """Each embedder in turn, loaded."""
    fixture: Embedder = request.getfixturevalue(
        "static_embedder" if request.param == "static" else "minilm"
    )
    return fixture


# --- the Embedder contract, for every embedder ---------------------------------------------


def test_satisfies_the_protocol(embedder: Embedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.model_id and embedder.dimension > 0


def test_rows_are_unit_float32(embedder: Embedder) -> None:
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), embedder.dimension)
    assert vectors.dtype == np.float32
    assert vectors.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_input_gives_an_empty_matrix(embedder: Embedder) -> None:
    vectors = embedder.embed([])
    assert vectors.shape == (0, embedder.dimension)
    assert vectors.dtype == np.float32


def test_texts_without_words_still_get_unit_vectors(embedder: Embedder) -> None:
    vectors = embedder.embed(["", "   ", "[UNK]", "☃"])
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_deterministic(embedder: Embedder) -> None:
    np.testing.assert_array_equal(embedder.embed(TEXTS), embedder.embed(TEXTS))


def test_a_single_string_is_refused(embedder: Embedder) -> None:
    with pytest.raises(TypeError, match="wrap a single text in a list"):
        embedder.embed(QUESTION)


def test_related_texts_are_closer(embedder: Embedder) -> None:
    question, related, unrelated, _ = embedder.embed(TEXTS)
    assert question @ related > question @ unrelated + 0.1


def test_same_topic_ranks_first(embedder: Embedder) -> None:
    answers = [
        "Asthma attacks can be triggered by pollen, smoke, cold air and exercise.",
        "Type 2 diabetes is managed with diet, exercise and metformin.",
        "A sprained ankle is treated with rest, ice, compression and elevation.",
    ]
    queries = ["what sets off asthma", "diabetes medication", "twisted my ankle what to do"]
    similarity = embedder.embed(queries) @ embedder.embed(answers).T
    assert list(similarity.argmax(axis=1)) == [0, 1, 2]


def test_concurrent_first_use_loads_once_and_agrees(
    embedder: Embedder, tmp_path: Path, embed_cache: Path
) -> None:
    fresh: Embedder = (
        StaticEmbedder(embed_cache) if isinstance(embedder, StaticEmbedder) else MiniLMEmbedder()
    )
    results: list[npt.NDArray[np.float32]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(fresh.embed(TEXTS))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for result in results:
        np.testing.assert_allclose(result, embedder.embed(TEXTS), atol=1e-5)


# --- the static embedder --------------------------------------------------------------------


def test_static_identity() -> None:
    assert StaticEmbedder.model_id == "medkb/static-minilm-l6-v2-d256-v1"
    assert StaticEmbedder.dimension == 256


def test_static_vector_does_not_depend_on_the_batch(static_embedder: StaticEmbedder) -> None:
    together = static_embedder.embed(TEXTS)
    for text, row in zip(TEXTS, together, strict=True):
        np.testing.assert_array_equal(static_embedder.embed([text])[0], row)


def test_static_embeds_long_texts(static_embedder: StaticEmbedder) -> None:
    long_text = " ".join([RELATED] * 800)  # ~12,000 tokens: pooled in pieces
    vectors = static_embedder.embed([long_text, RELATED])
    assert vectors[0] @ vectors[1] > 0.99


def test_static_cache_is_reused(static_embedder: StaticEmbedder, embed_cache: Path) -> None:
    manifest = static_embedder.model_dir / "manifest.json"
    before = {p.name: p.stat().st_mtime_ns for p in static_embedder.model_dir.iterdir()}
    again = StaticEmbedder(embed_cache)
    assert again.is_cached()
    again.load()
    assert not again.distilled and again.distill_seconds is None
    assert {p.name: p.stat().st_mtime_ns for p in again.model_dir.iterdir()} == before
    meta = json.loads(manifest.read_text())
    assert meta["model_id"] == StaticEmbedder.model_id
    assert meta["source_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert meta["dimension"] == 256 and meta["version"] == 1
    np.testing.assert_array_equal(again.embed(TEXTS), static_embedder.embed(TEXTS))


def _copy_cache(source: StaticEmbedder, target: Path) -> StaticEmbedder:
    shutil.copytree(source.model_dir, StaticEmbedder(target).model_dir)
    return StaticEmbedder(target)


def _flip_a_byte(model_dir: Path) -> None:
    matrix = next(model_dir.glob("matrix-*.npy"))
    data = bytearray(matrix.read_bytes())
    data[len(data) // 2] ^= 0xFF
    matrix.write_bytes(bytes(data))


def _truncate(model_dir: Path) -> None:
    matrix = next(model_dir.glob("matrix-*.npy"))
    matrix.write_bytes(matrix.read_bytes()[:1000])


def _remove_matrix(model_dir: Path) -> None:
    next(model_dir.glob("matrix-*.npy")).unlink()


def _garble_manifest(model_dir: Path) -> None:
    (model_dir / "manifest.json").write_text("{not json")


def _foreign_manifest(model_dir: Path) -> None:
    manifest = model_dir / "manifest.json"
    meta = json.loads(manifest.read_text())
    meta["model_id"] = "medkb/static-minilm-l6-v2-d256-v0"
    manifest.write_text(json.dumps(meta))


def _other_tokenizer(model_dir: Path) -> None:
    manifest = model_dir / "manifest.json"
    meta = json.loads(manifest.read_text())
    meta["tokenizer_sha256"] = "0" * 64
    manifest.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "damage",
    [
        _flip_a_byte,
        _truncate,
        _remove_matrix,
        _garble_manifest,
        _foreign_manifest,
        _other_tokenizer,
    ],
)
def test_damaged_cache_is_not_trusted(
    static_embedder: StaticEmbedder, tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    copy = _copy_cache(static_embedder, tmp_path)
    assert copy.is_cached()
    damage(copy.model_dir)
    assert not copy.is_cached()


@pytest.mark.minilm
@pytest.mark.slow
def test_corrupt_cache_is_distilled_again_to_the_same_model(
    static_embedder: StaticEmbedder, tmp_path: Path
) -> None:
    """A damaged cache is rebuilt, and the rebuilt model embeds as the original did.

    Not bit for bit: torch picks its kernels by the CPU and OpenBLAS splits the SVD by its
    threads, so a cache distilled on another machine (CI keeps one between runs) may differ
    in the last float16 bit of some entries.
    """
    copy = _copy_cache(static_embedder, tmp_path)
    _flip_a_byte(copy.model_dir)
    copy.load()
    assert copy.distilled and copy.distill_seconds is not None
    rebuilt = json.loads((copy.model_dir / "manifest.json").read_text())
    assert sorted(p.name for p in copy.model_dir.glob("matrix-*.npy")) == [rebuilt["matrix_file"]]
    sha = static._tokenizer_sha()
    original_matrix = static.read_cache(static_embedder.model_dir, sha)
    rebuilt_matrix = static.read_cache(copy.model_dir, sha)
    assert original_matrix is not None and rebuilt_matrix is not None
    difference = np.abs(rebuilt_matrix.astype(np.float32) - original_matrix.astype(np.float32))
    assert difference.max() <= 1e-2 * np.abs(original_matrix.astype(np.float32)).max()
    cosines = np.sum(copy.embed(TEXTS) * static_embedder.embed(TEXTS), axis=1)
    assert cosines.min() > 0.9999


def test_concurrent_cache_writes_are_never_seen_torn(tmp_path: Path) -> None:
    """Writers racing (as two distilling processes would) never expose a half-written model."""
    rng = np.random.default_rng(0)
    versions = [rng.standard_normal((40, static.DIMENSION)).astype(np.float16) for _ in range(2)]
    stop = threading.Event()
    seen: list[npt.NDArray[np.float16] | None] = []

    def write(matrix: npt.NDArray[np.float16]) -> None:
        for _ in range(15):
            static.write_cache(tmp_path, matrix, tokenizer_sha="t")

    def read() -> None:
        while not stop.is_set():
            seen.append(static.read_cache(tmp_path, "t"))

    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(m,)) for m in versions]
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()
    valid = [m for m in seen if m is not None]
    assert valid
    for matrix in valid:
        assert any(np.array_equal(matrix, version) for version in versions)
    assert not list(tmp_path.glob("*.tmp"))


def test_unwritable_cache_dir_names_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="MEDKB_CACHE_DIR"):
        StaticEmbedder(blocker / "cache").load()


# --- the static model's pure parts -----------------------------------------------------------

_MATRIX = np.random.default_rng(7).standard_normal((50, 8)).astype(np.float32)
_MATRIX[0] = 0.0  # a token without a row, like [PAD]
_FALLBACK = np.ones(8, dtype=np.float32)


def _pool(texts: list[list[int]], chunk: int) -> npt.NDArray[np.float32]:
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    ids = np.array([i for t in texts for i in t], dtype=np.int64)
    return static.pool(_MATRIX, ids, lengths, fallback=_FALLBACK, chunk=chunk)


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.lists(st.integers(0, 49), max_size=30), min_size=1, max_size=12),
    chunk=st.integers(1, 16),
)
def test_pool_is_a_normalised_sum_independent_of_the_batch(
    texts: list[list[int]], chunk: int
) -> None:
    pooled = _pool(texts, chunk)
    for text, row in zip(texts, pooled, strict=True):
        total = _MATRIX[text].astype(np.float64).sum(axis=0)
        norm = np.linalg.norm(total)
        expected = total / norm if norm >= 1e-6 else _FALLBACK / np.linalg.norm(_FALLBACK)
        np.testing.assert_allclose(row, expected, atol=1e-5)
        np.testing.assert_array_equal(_pool([text], chunk)[0], row)


def test_zipf_weights_mute_the_commonest_pieces() -> None:
    ids = np.array([0, 500, 1996, 1997, 2095, 5000, 30000])
    weights = static.zipf_weights(ids, first_word_id=1996, knee=100)
    assert (np.diff(weights) >= 0).all()
    assert weights[0] == weights[2] < 0.01  # specials, characters and "the" share rank 1
    assert weights[-1] > 5


def test_pca_is_deterministic_and_orthonormal() -> None:
    vectors = np.random.default_rng(3).standard_normal((200, 16)).astype(np.float32)
    mean, axes = static.fit_pca(vectors, 6)
    again_mean, again_axes = static.fit_pca(vectors.copy(), 6)
    np.testing.assert_array_equal(axes, again_axes)
    np.testing.assert_array_equal(mean, again_mean)
    np.testing.assert_allclose(axes @ axes.T, np.eye(6), atol=1e-5)
    with pytest.raises(ValueError, match="PCA dimension"):
        static.fit_pca(vectors, 17)


# --- MiniLM ------------------------------------------------------------------------------------


def test_minilm_identity_without_loading() -> None:
    embedder = MiniLMEmbedder(device="cpu")
    assert embedder.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert embedder.dimension == 384
    assert embedder.embed([]).shape == (0, 384)
    assert embedder.device == "cpu"


def test_minilm_rejects_a_bad_batch_size() -> None:
    with pytest.raises(ConfigError, match="batch_size"):
        MiniLMEmbedder(batch_size=0)


@pytest.mark.minilm
def test_minilm_bad_device_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="MEDKB_DEVICE"):
        MiniLMEmbedder(device="no-such-device").load()


@pytest.mark.minilm
def test_minilm_batches_agree(minilm: MiniLMEmbedder) -> None:
    together = minilm.embed(TEXTS)
    alone = np.vstack([minilm.embed([text]) for text in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)


@pytest.mark.minilm
def test_static_model_follows_minilm(
    minilm: MiniLMEmbedder, static_embedder: StaticEmbedder
) -> None:
    """The distilled model ranks pairs of texts roughly as its teacher does."""
    teacher = minilm.embed(TEXTS)
    student = static_embedder.embed(TEXTS)
    upper = np.triu_indices(len(TEXTS), 1)
    ranks_teacher = np.argsort(np.argsort((teacher @ teacher.T)[upper]))
    ranks_student = np.argsort(np.argsort((student @ student.T)[upper]))
    assert np.corrcoef(ranks_teacher, ranks_student)[0, 1] > 0.5


# --- registry ----------------------------------------------------------------------------------


def test_registry_opens_each_embedder_lazily(tmp_path: Path) -> None:
    assert EMBEDDERS == ("minilm", "static")
    minilm = open_embedder("minilm", cache_dir=tmp_path, device="cpu")
    assert isinstance(minilm, MiniLMEmbedder) and minilm.device == "cpu"
    static_model = open_embedder(" Static ", cache_dir=tmp_path)
    assert isinstance(static_model, StaticEmbedder) and static_model.cache_dir == tmp_path
    assert list(tmp_path.iterdir()) == []  # nothing loaded or distilled yet


def test_registry_unknown_name_lists_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"MEDKB_EMBEDDER.*--embedder.*minilm, static"):
        open_embedder("word2vec", cache_dir=tmp_path)


# --- MiniLM without torch for queries -----------------------------------------------------


@pytest.mark.minilm
def test_minilm_numpy_forward_equals_sentence_transformers(minilm: MiniLMEmbedder) -> None:
    """The query path (numpy) gives sentence-transformers' vectors, long texts included."""
    from medkb.embed.bert_numpy import NumpyMiniLM
    from medkb.embed.minilm import model_dir

    texts = [*TEXTS, "", "ok", "Glaucoma damages the optic nerve. " * 60]
    from tokenizers import Tokenizer

    path = model_dir()
    light = NumpyMiniLM(path, Tokenizer.from_file(str(path / "tokenizer.json")))
    np.testing.assert_allclose(light.embed(texts), minilm.embed(texts), atol=1e-5)


def test_a_minilm_query_embeds_without_importing_torch() -> None:
    """A MiniLM query process spent 8.7 s importing sentence-transformers (torch) to embed
    one question."""
    script = (
        "import sys\n"
        "from medkb.embed.minilm import MiniLMEmbedder\n"
        "embedder = MiniLMEmbedder()\n"
        "embedder.warm_up()\n"
        "vector = embedder.embed(['What are the warning signs of a stroke?'])\n"
        "assert vector.shape == (1, 384) and abs(float((vector ** 2).sum()) - 1) < 1e-5\n"
        "heavy = {'torch', 'sentence_transformers', 'transformers'} & set(sys.modules)\n"
        "assert not heavy, heavy"
    )
    source = str(Path(minilm_module.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
