"""Settings: read once at the edge (CLI, API, ``medkb.open``) and passed down.

Environment variables use the ``MEDKB_`` prefix; nested groups use a double underscore
(``MEDKB_GRAPH__SIMILAR_K=8``). ``MEDKB_CONFIG=medkb.prod.yaml`` adds a YAML file (one per
environment) under the environment: the same names in lower case, nested groups as
mappings. A key the settings do not have is refused at start, naming the file and the key,
so a typo never silently keeps a default. No other module reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from medkb.errors import ConfigError
from medkb.models import DEFAULT_TENANT, VectorField
from medkb.redact import mask_url


class GraphSettings(BaseModel):
    """How pairs are linked into a graph (SPEC §A flow 1, "build graph relationships")."""

    similar_k: int = Field(
        5, ge=0, le=50, description="Nearest pairs linked `similar_to` per pair."
    )
    similar_threshold: float = Field(
        0.6, ge=-1, le=1, description="Minimum cosine similarity of a `similar_to` link."
    )
    max_depth: int = Field(2, ge=0, le=2, description="Deepest graph expansion a query may ask.")


FusionMethod = Literal["rrf", "minmax", "zscore"]


class RankingProfile(BaseModel):
    """Which vector fields a query searches and how the rankings are fused.

    Tuned per embedding model, because models differ in how far their cosines can be
    trusted against BM25 (docs/retrieval.md, "Tuning log").
    """

    fields: list[VectorField] = Field(min_length=1, description="Vector fields searched.")
    dense_weight: float = Field(ge=0, description="Weight of each dense ranking in fusion.")
    keyword_weight: float = Field(ge=0, description="Weight of the keyword ranking.")
    fusion: FusionMethod = Field(
        description="'minmax' / 'zscore': convex combination of normalised scores; "
        "'rrf': weighted reciprocal rank fusion."
    )


def _default_profiles() -> dict[str, RankingProfile]:
    """Profiles by embedder ``model_id``, chosen on the dev halves of MEDIQA and BioASQ."""
    return {
        "medkb/static-minilm-l6-v2-d256-v1": RankingProfile(
            fields=["question"], dense_weight=1.0, keyword_weight=1.5, fusion="minmax"
        ),
        "sentence-transformers/all-MiniLM-L6-v2": RankingProfile(
            fields=["question", "combined"], dense_weight=1.0, keyword_weight=1.5, fusion="minmax"
        ),
    }


#: The profile of a model that has none of its own.
DEFAULT_RANKING = RankingProfile(
    fields=["question"], dense_weight=1.0, keyword_weight=1.0, fusion="minmax"
)


class SearchSettings(BaseModel):
    """How queries are answered (DESIGN "Query").

    ``fields``, ``dense_weight``, ``keyword_weight`` and ``fusion`` left unset come from
    the embedder's entry in ``profiles`` (:meth:`ranking`); set, they win for every model.
    """

    top_k: int = Field(10, ge=1, le=100, description="Hits returned by default.")
    candidates: int = Field(
        100, ge=1, le=1000, description="Candidates each retriever contributes before fusion."
    )
    fields: list[VectorField] | None = Field(
        None, description="Vector fields searched; unset: the embedder's ranking profile."
    )
    dense_weight: float | None = Field(
        None, ge=0, description="Weight of each dense ranking; unset: from the profile."
    )
    keyword_weight: float | None = Field(
        None, ge=0, description="Weight of the keyword ranking; unset: from the profile."
    )
    fusion: FusionMethod | None = Field(
        None, description="'minmax', 'zscore' or 'rrf'; unset: from the profile."
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    graph_weight: float = Field(
        0.0,
        ge=0,
        description="Share of a neighbour's score a graph-expanded pair inherits; 0 keeps "
        "graph neighbours as context (the graph paths) out of the ranked hits.",
    )
    profiles: dict[str, RankingProfile] = Field(
        default_factory=_default_profiles,
        description="Ranking profiles by embedder model id.",
    )

    def ranking(self, model_id: str) -> RankingProfile:
        """The ranking profile for ``model_id``, with the explicitly set settings applied."""
        base = self.profiles.get(model_id, DEFAULT_RANKING)
        names = ("fields", "dense_weight", "keyword_weight", "fusion")
        overrides = {name: getattr(self, name) for name in names if getattr(self, name) is not None}
        return base.model_copy(update=overrides)


class IngestSettings(BaseModel):
    """How documents become pairs."""

    batch_size: int = Field(
        64, ge=1, le=10_000, description="Pairs embedded and committed per transaction."
    )
    max_file_mb: float = Field(
        100,
        gt=0,
        description="Largest file ingested, in MB (10^6 bytes); a larger one is refused "
        "before it is read. Split it, or raise this limit.",
    )


class SyncSettings(BaseModel):
    """How ``medkb worker`` drains the outbox (DESIGN "Consistency"; the strategy itself is
    ``MEDKB_SYNC_STRATEGY``)."""

    interval_s: float = Field(
        0.2, gt=0, le=60, description="Seconds between a worker's polls of the outbox."
    )
    batch_rows: int = Field(
        500, ge=1, le=1_000_000, description="`batch`: apply once this many rows are due."
    )
    batch_seconds: float = Field(
        10.0, gt=0, description="`batch`: apply once the oldest due row is this old (seconds)."
    )
    lease_s: float = Field(
        30.0,
        gt=0,
        description="Seconds a worker holds the ids it applies; a killed worker's ids are "
        "taken over after this.",
    )
    claim_rows: int = Field(
        1000, ge=1, le=100_000, description="Outbox rows one apply claims at most."
    )


#: Retry policy names (``medkb.resilience.retry.POLICIES``) and the dependencies that take one.
RETRY_POLICIES = ("default", "aggressive", "conservative", "network")
DEPENDENCIES = ("vector_store", "embedder", "llm", "object_store", "bus")


def _default_retry() -> dict[str, str]:
    return {
        "vector_store": "network",
        "embedder": "default",
        "llm": "network",
        "object_store": "conservative",
        "bus": "network",
    }


class BreakerTuning(BaseModel):
    """One dependency's circuit-breaker thresholds; a field left unset takes the general one."""

    failures: int | None = Field(None, ge=1, le=1000)
    reset_s: float | None = Field(None, ge=0, le=3600)
    trial_calls: int | None = Field(None, ge=1, le=100)


class ResilienceSettings(BaseModel):
    """Retries and circuit breakers around external dependencies (``medkb.resilience``)."""

    retry: dict[str, str] = Field(
        default_factory=_default_retry,
        description="Retry policy per dependency (vector_store, embedder, llm, object_store, "
        "bus): default, aggressive, conservative or network; dependencies not named keep "
        "theirs.",
    )
    breaker_failures: int = Field(
        5, ge=1, le=1000, description="Failed calls in a row that open a dependency's circuit."
    )
    breaker_reset_s: float = Field(
        30.0, ge=0, le=3600, description="Seconds an open circuit waits before a trial call."
    )
    breaker_trial_calls: int = Field(
        1, ge=1, le=100, description="Trial calls that must succeed to close the circuit again."
    )
    breaker: dict[str, BreakerTuning] = Field(
        default_factory=dict,
        description="Thresholds per dependency (vector_store, embedder, llm, object_store, bus) "
        'over the breaker_* ones, e.g. MEDKB_RESILIENCE__BREAKER=\'{"llm": {"failures": 2, '
        '"reset_s": 120}}\'.',
    )

    @field_validator("breaker")
    @classmethod
    def _check_breakers(cls, breaker: dict[str, BreakerTuning]) -> dict[str, BreakerTuning]:
        unknown = sorted(set(breaker) - set(DEPENDENCIES))
        if unknown:
            raise ValueError(
                f"unknown dependency {unknown[0]!r} in breaker; use {', '.join(DEPENDENCIES)}"
            )
        return breaker

    def breaker_thresholds(self, dependency: str) -> tuple[int, float, int]:
        """``(failures, reset_s, trial_calls)`` of ``dependency``'s circuit breaker."""
        own = self.breaker.get(dependency, BreakerTuning())
        return (
            own.failures if own.failures is not None else self.breaker_failures,
            own.reset_s if own.reset_s is not None else self.breaker_reset_s,
            own.trial_calls if own.trial_calls is not None else self.breaker_trial_calls,
        )

    @field_validator("retry")
    @classmethod
    def _check_policies(cls, retry: dict[str, str]) -> dict[str, str]:
        for dependency, name in retry.items():
            if dependency not in DEPENDENCIES:
                raise ValueError(
                    f"unknown dependency {dependency!r}; use {', '.join(DEPENDENCIES)}"
                )
            if name not in RETRY_POLICIES:
                raise ValueError(
                    f"unknown retry policy {name!r} for {dependency}; use "
                    f"{', '.join(RETRY_POLICIES)}"
                )
        return {**_default_retry(), **retry}  # naming one dependency keeps the others'

    def policy_name(self, dependency: str) -> str:
        """The retry policy named for ``dependency`` (``default`` when none is)."""
        return self.retry.get(dependency, "default")


class StreamSettings(BaseModel):
    """How ``medkb worker --bus`` consumes events (``medkb.stream``)."""

    batch_size: int = Field(
        100, ge=1, le=10_000, description="Events a worker takes from the bus at once."
    )
    visibility_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="Seconds an unacked event stays with its consumer before the bus "
        "delivers it again (a killed worker's batch is redelivered after this).",
    )
    block_s: float = Field(
        1.0, ge=0, le=60, description="Seconds a worker waits on an empty bus per poll."
    )
    max_deliveries: int = Field(
        5,
        ge=1,
        le=1000,
        description="Deliveries of one event before it goes to the dead letters (an event "
        "that keeps crashing its workers).",
    )
    retention_s: float = Field(
        7 * 86400,
        ge=0,
        description="db bus: seconds an event is kept after it was published, once every "
        "group that took it has acked it; workers delete older ones (0 keeps them forever). "
        "A group that starts reading later only finds events younger than this.",
    )
    prune_every_s: float = Field(
        60.0,
        gt=0,
        le=86400,
        description="db bus: seconds between a worker's deletions of events past retention_s.",
    )


class LLMSettings(BaseSettings):
    """The optional LLM answer mode: an OpenAI-compatible chat endpoint.

    Read from ``MEDKB_LLM_URL``, ``MEDKB_LLM_MODEL``, ... (also ``MEDKB_ANSWER__LLM__URL``).
    """

    model_config = SettingsConfigDict(env_prefix="MEDKB_LLM_", extra="ignore")

    url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible API (e.g. 'http://localhost:8000/v1'); "
        "answers are written by its /chat/completions when set, extractive otherwise.",
    )
    model: str | None = Field(None, description="Model name sent in each chat request.")
    api_key: SecretStr | None = Field(
        None, description="Bearer token for the endpoint, if it needs one (never printed)."
    )
    timeout_s: float = Field(
        30.0, gt=0, le=600, description="Seconds to wait for the endpoint before falling back."
    )
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature sent.")
    sources: int = Field(5, ge=1, le=20, description="Best hits put in the prompt, numbered.")


class AnswerSettings(BaseModel):
    """How answers are composed: safety notices, abstention, disclaimer, LLM mode."""

    red_flags: bool = Field(
        True,
        description="Triage every query for emergencies (cues, numbers, nearest emergency "
        "situation) and put the urgent notice first.",
    )
    emergency_number: str = Field(
        "your local emergency number (112 in the EU, 911 in the US, 999 in the UK)",
        description="Put in place of {number} in the urgent notices, e.g. '112' or "
        "'000 (Australia)'.",
    )
    language: str = Field(
        "en",
        description="Language of the urgent notices: a key of medkb.answer.notices.NOTICES ('en').",
    )
    urgent_notice: str = Field(
        "",
        description="Replaces the urgent headline of the language's notices when not empty "
        "({number} is replaced); the per-category 'what to do now' line follows it.",
    )
    crisis_notice: str = Field(
        "",
        description="Replaces the crisis line added for suicide and self-harm when not empty "
        "({number} is replaced).",
    )
    triage_semantic: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            "static": {"flag": 0.775, "boost": 0.8, "margin": 0.0},
            "minilm": {"flag": 0.75, "boost": 0.75, "margin": 0.0},
        },
        description="Per embedder: cosine thresholds of the semantic triage step ('flag' "
        "alone, with 'margin' over the calm texts; 'boost' to complete a half-scored "
        "category), chosen in docs/safety.md; an embedder without an entry skips the step.",
    )
    triage_model: bool = Field(
        True,
        description="Use the learned triage model beside the cues, numbers and situations "
        "(docs/safety.md: without it about one emergency in five told in fresh words is "
        "missed). Turn off only to measure the other steps alone.",
    )
    disclaimer: str = Field(
        "This is general information from a knowledge base, not medical advice; ask a "
        "health professional about your own situation.",
        description="Appended to every answer; an empty string disables it.",
    )
    abstain: bool = Field(
        True, description="Answer 'not found' plus the nearest topics when evidence is weak."
    )
    min_cosine: dict[str, float] = Field(
        default_factory=lambda: {"static": 0.55, "minilm": 0.55},
        description="Per embedder ('static', 'minilm'): abstain when the best dense cosine "
        "of the 10 best hits is below this (calibrated in docs/safety.md); none for others.",
    )
    min_overlap: dict[str, float] = Field(
        default_factory=lambda: {"static": 0.1, "minilm": 0.0},
        description="Per embedder: abstain when the best share of query keywords found in a "
        "top-3 hit is below this (calibrated in docs/safety.md); 0 for others.",
    )
    nearest_topics: int = Field(
        3, ge=0, le=10, description="Questions of the best hits listed when abstaining."
    )
    max_sentences: int = Field(4, ge=1, le=20, description="Most sentences quoted in an answer.")
    max_sources: int = Field(3, ge=1, le=20, description="Most pairs quoted in an answer.")
    llm: LLMSettings = Field(
        default_factory=LLMSettings, description="Optional LLM mode (MEDKB_LLM_URL, ...)."
    )


class ApiSettings(BaseModel):
    """The HTTP service (``medkb serve``); env ``MEDKB_API__PORT=8000`` and so on."""

    host: str = Field("127.0.0.1", description="Address `medkb serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port `medkb serve` listens on.")
    workers: int = Field(
        1, ge=1, le=64, description="Worker processes (PostgreSQL for more than one)."
    )
    rate_per_s: float = Field(
        50.0, gt=0, description="Requests per second each API key may make, on average."
    )
    rate_burst: int = Field(
        100, ge=1, description="Requests an API key may make at once before being limited."
    )
    idempotency_ttl_s: int = Field(
        86_400, ge=60, description="Seconds a POST's Idempotency-Key and its answer are kept."
    )
    max_upload_mb: int = Field(
        50, ge=1, le=10_000, description="Largest document upload accepted, in megabytes."
    )
    max_body_kb: int = Field(
        1024, ge=1, description="Largest JSON request body accepted, in kilobytes."
    )
    cors_origins: str = Field(
        "http://127.0.0.1:8501,http://localhost:8501",
        description="Comma-separated browser origins allowed to call the API (CORS), e.g. "
        "the web app's 'https://kb.example.org'; the default is `medkb ui` on this machine; "
        "empty allows none, '*' any.",
    )

    def cors_origin_list(self) -> list[str]:
        """``cors_origins`` as a list, blanks dropped."""
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]


class CacheSettings(BaseModel):
    """The answer cache (``MEDKB_CACHE__TTL_S=600`` and so on): in Redis when
    ``MEDKB_REDIS_URL`` is set, in each process otherwise."""

    answers: bool = Field(
        True,
        description="Cache answers to repeated questions per tenant; dropped when a pair "
        "they cite changes, and all of a tenant's when it gets a new pair.",
    )
    ttl_s: int = Field(3600, ge=1, description="Seconds a cached answer is kept at most.")
    max_entries: int = Field(
        1024, ge=1, description="Most answers kept by the in-process cache (no Redis)."
    )
    redis_prefix: str = Field(
        "medkb:", min_length=1, description="Prefix of the answer cache's Redis keys."
    )


class OtelSettings(BaseModel):
    """OpenTelemetry traces of ``medkb serve`` (``MEDKB_OTEL__ENDPOINT`` and so on)."""

    endpoint: str | None = Field(
        None,
        description="OTLP/HTTP collector base URL (e.g. 'http://127.0.0.1:4318'; spans go to "
        "<endpoint>/v1/traces). Unset: the standard OTEL_EXPORTER_OTLP_ENDPOINT, else no "
        "traces are exported.",
    )
    service_name: str = Field("medkb", min_length=1, description="service.name of the spans.")


class PrivacySettings(BaseModel):
    """What medkb keeps of the people who ask (docs/privacy.md)."""

    redact_query_logs: bool = Field(
        True,
        description="Replace e-mail addresses, phone numbers, US SSN / UK NI numbers, payment "
        "card numbers and IBANs with placeholders ([email], [phone], ...) in the query text, "
        "answer and feedback comment stored in query_logs; false stores them raw.",
    )


class Settings(BaseSettings):
    """Everything configurable about one medkb knowledge base."""

    model_config = SettingsConfigDict(
        env_prefix="MEDKB_", env_nested_delimiter="__", extra="ignore", validate_assignment=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the ``MEDKB_CONFIG`` YAML file."""
        path = os.environ.get(CONFIG_VARIABLE)
        if not path:
            return init_settings, env_settings
        return init_settings, env_settings, yaml_source(settings_cls, Path(path))

    home: Path = Field(
        Path("medkb-data"), description="Directory for the embedded stores and object files."
    )
    database_url: SecretStr | None = Field(
        None,
        description="SQLAlchemy URL of the relational store; default SQLite in the home dir. "
        "A postgresql:// URL works the same. Its password is never printed.",
    )
    vector_url: SecretStr | None = Field(
        None,
        description="Vector store: 'local' (default, in the home dir), a Milvus Lite '.db' path, "
        "'milvus://host:port' or 'http://host:port' for a Milvus server, or 'pgvector' "
        "(tables in the PostgreSQL of database_url) / 'pgvector+postgresql://...'. "
        "Its password is never printed.",
    )
    object_url: str | None = Field(
        None, description="Object store directory; default '<home>/objects'."
    )
    embedder: str = Field(
        "minilm", description="Embedding model: 'minilm' (all-MiniLM-L6-v2) or 'static' (fast)."
    )
    cache_dir: Path = Field(
        Path("~/.cache/medkb").expanduser(),
        description="Shared cache (the distilled static embedding model) across knowledge bases.",
    )
    device: str | None = Field(
        None, description="Torch device for the minilm embedder; default CUDA when present."
    )
    s3_endpoint_url: str | None = Field(
        None,
        description="Endpoint of an S3-compatible object store (MinIO, OBS) for s3:// backup "
        "targets; default AWS. Credentials come from the usual AWS environment/config.",
    )
    sync_strategy: Literal["realtime", "eventual", "batch"] = Field(
        "realtime", description="When writes reach the vector store (DESIGN 'Consistency')."
    )
    tenant: str = Field(DEFAULT_TENANT, description="Tenant whose pairs this handle reads/writes.")
    graph: GraphSettings = Field(default_factory=GraphSettings, description="Graph linking.")
    search: SearchSettings = Field(default_factory=SearchSettings, description="Query tuning.")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Ingestion.")
    answer: AnswerSettings = Field(
        default_factory=AnswerSettings, description="Answer safety and composition."
    )
    sync: SyncSettings = Field(default_factory=SyncSettings, description="Sync workers.")
    stream: StreamSettings = Field(
        default_factory=StreamSettings, description="Streaming ingestion workers."
    )
    resilience: ResilienceSettings = Field(
        default_factory=ResilienceSettings, description="Retries and circuit breakers."
    )
    api: ApiSettings = Field(default_factory=ApiSettings, description="The HTTP service.")
    redis_url: SecretStr | None = Field(
        None,
        description="Redis for the API's rate limits, idempotency keys and answer cache, "
        "shared by every process (e.g. 'redis://127.0.0.1:6379/0'); unset: kept in each "
        "process. Its password is never printed.",
    )
    privacy: PrivacySettings = Field(
        default_factory=PrivacySettings, description="Personal data in the query logs."
    )
    cache: CacheSettings = Field(default_factory=CacheSettings, description="The answer cache.")
    otel: OtelSettings = Field(default_factory=OtelSettings, description="Tracing.")
    log_format: Literal["json", "text"] = Field(
        "json",
        description="Log lines of `medkb serve`: 'json' (one object per line with request id, "
        "tenant, route, status, duration) or 'text'; personal identifiers and credentials "
        "are redacted either way.",
    )

    @model_validator(mode="after")
    def _check_urls(self) -> Settings:
        url = self.resolved_database_url()
        if not url.startswith(("sqlite", "postgresql")):
            raise ConfigError(
                f"MEDKB_DATABASE_URL='{mask_url(url)}' is not supported: use a sqlite:/// "
                "path or a postgresql:// URL."
            )
        return self

    def resolved_database_url(self) -> str:
        """The relational store URL, defaulting to SQLite in the home dir."""
        url = reveal(self.database_url)
        if url:
            return normalise_postgres_url(url)
        return f"sqlite:///{(self.home / 'medkb.db').resolve()}"

    def resolved_vector_url(self) -> str:
        """The vector store URL, defaulting to the local index in the home dir."""
        return reveal(self.vector_url) or "local"

    def resolved_object_dir(self) -> Path:
        """The object store directory."""
        return Path(self.object_url) if self.object_url else self.home / "objects"


CONFIG_VARIABLE = "MEDKB_CONFIG"


def yaml_source(settings_cls: type[BaseSettings], path: Path) -> YamlConfigSettingsSource:
    """The settings in the YAML file at ``path``, every key checked.

    Raises:
        ConfigError: the file is missing, is not YAML, is not a mapping, or names a key
            the settings do not have.
    """
    import yaml

    where = f"{CONFIG_VARIABLE}={path}"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the file ({exc.strerror}).") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({exc}).") from exc
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{where}: the file must be a mapping of settings, not a list or text.")
    unknown = _unknown_keys(settings_cls, data or {})
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting(s) {', '.join(unknown)}; the names are those of the "
            "MEDKB_ variables in lower case, without the prefix (README: Settings)."
        )
    return YamlConfigSettingsSource(settings_cls, yaml_file=path, yaml_file_encoding="utf-8")


def _unknown_keys(model: type[BaseModel], data: dict[Any, Any], prefix: str = "") -> list[str]:
    """Dotted names in ``data`` that ``model`` has no field for (nested groups recursed)."""
    found = []
    for key, value in data.items():
        field = model.model_fields.get(str(key))
        if field is None:
            found.append(f"{prefix}{key}")
            continue
        group = field.annotation
        if isinstance(value, dict) and isinstance(group, type) and issubclass(group, BaseModel):
            found += _unknown_keys(group, value, f"{prefix}{key}.")
    return found


def load_settings(**overrides: Any) -> Settings:
    """Read the settings (environment, then ``overrides``), refusing invalid values.

    Raises:
        ConfigError: a value is invalid; the message names each environment variable to
            fix and why, never the value (it may be a secret).
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors())
        raise ConfigError(f"Invalid settings: {problems}. Fix them and run again.") from exc


def _problem(error: Any) -> str:
    name = "MEDKB_" + "__".join(str(part) for part in error["loc"]).upper()
    return f"{name}: {error['msg']}"


def reveal(secret: SecretStr | str | None) -> str | None:
    """The plain value of a secret setting, for the code that connects with it.

    ``model_copy(update=...)`` does not validate, so a plain string is accepted too.
    """
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


def normalise_postgres_url(url: str) -> str:
    """Pick the psycopg 3 driver for bare ``postgresql://`` / ``postgres://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
