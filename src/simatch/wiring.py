"""The one place where objects are built from settings: adapters (through their packages'
factories), the domain, the services and the chat engine. Nothing here runs at import time."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

from simatch.alerts.bars import BarBook
from simatch.alerts.detector import DetectionSettings, Detector
from simatch.alerts.dispatcher import Dispatcher, RetryPolicy
from simatch.alerts.hook import AlertHook, catch_up
from simatch.alerts.senders.email import EmailSender, SmtpConfig
from simatch.alerts.senders.webhook import WebhookSender
from simatch.alerts.tokens import UnsubscribeTokens
from simatch.config import Settings, load_settings
from simatch.domain.alerts import AlertStore, Sender
from simatch.domain.audit import AuditLog
from simatch.domain.centring import EXTRA_DIMS, LanguageCentring, load_centring
from simatch.domain.confidence import Calibration, calibration_for
from simatch.domain.imports import ImportJobStore
from simatch.domain.matcher import Matcher, MatchTuning
from simatch.domain.ports import (
    Embedder,
    FeedbackBoosts,
    IndexGenerations,
    IndexMeta,
    ServingIndex,
    TextAnalyzer,
    VectorIndex,
)
from simatch.domain.reviews import ReviewLog
from simatch.domain.sessions import SessionStore
from simatch.domain.sources import Source, SyncStateStore
from simatch.domain.stores import (
    ConversationStates,
    DuplicateStore,
    EmbeddingCache,
    ExclusiveWork,
    FeedbackLog,
    GapLog,
    KeyStore,
    RateBuckets,
)
from simatch.embeddings.factory import build_embedder
from simatch.index.factory import build_generations, open_serving
from simatch.index.live import LiveIndex
from simatch.ingest.pipeline import Ingestor, IngestSettings
from simatch.services import (
    AlertPolicy,
    AlertService,
    AuditService,
    BackgroundReindex,
    BuildSwitch,
    DashboardService,
    DuplicateService,
    FeedbackService,
    GapService,
    ImportJobService,
    ImportPreviewer,
    ImportService,
    IndexInfoService,
    KeyService,
    MatchLimits,
    MatchService,
    RecordSearch,
    RecordService,
    ReindexService,
    RequestsFirst,
    ReviewService,
    SessionService,
    StateMigrationService,
    SyncScheduler,
    SyncService,
)
from simatch.sources.factory import build_sources
from simatch.stores.factory import (
    UPLOADS_DIR,
    StateBackend,
    open_alert_store,
    open_audit_log,
    open_conversation_states,
    open_duplicate_store,
    open_embedding_cache,
    open_feedback_log,
    open_gap_log,
    open_import_jobs,
    open_key_store,
    open_rate_buckets,
    open_review_log,
    open_session_store,
    open_state,
    open_sync_state_store,
)
from simatch.text.factory import build_table_build, build_text_analyzer

if TYPE_CHECKING:
    from simatch.chat.engine import Engine
    from simatch.text.table_build import TableBuild

T = TypeVar("T")
C = TypeVar("C", bound="Closable")


class Closable(Protocol):
    def close(self) -> None: ...


class Container:
    """Builds each collaborator once, on first use, thread-safely; closes what it opened.

    The keyword arguments replace a collaborator instead of building it from settings (tests,
    the evaluation harness). Given ones are shared, so they are not closed here, except the
    index: the container opens it (checking its metadata against this model) and closes it.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        index: VectorIndex | None = None,
        analyzer: TextAnalyzer | None = None,
        cache: EmbeddingCache | None = None,
        calibration: Calibration | None = None,
        feedback_boosts: FeedbackBoosts | None = None,
        sources: dict[str, Source] | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self._lock = threading.RLock()
        self._given_index = index
        self._feedback_boosts = feedback_boosts
        given = {
            "embedder": embedder,
            "analyzer": analyzer,
            "cache": cache,
            "calibration": calibration,
            "sources": sources,
        }
        self._built: dict[str, object] = {k: v for k, v in given.items() if v is not None}
        self._closers: list[Callable[[], None]] = []  # of what was opened here, in order

    def _once(self, name: str, factory: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._built:
                self._built[name] = factory()
            return cast(T, self._built[name])

    def _opened(self, name: str, factory: Callable[[], C]) -> C:
        """``_once`` for what holds a file or connection: ``close`` closes it."""

        def open_and_register() -> C:
            opened = factory()
            self._closers.append(opened.close)
            return opened

        return self._once(name, open_and_register)

    @property
    def embedder(self) -> Embedder:
        return self._once("embedder", lambda: build_embedder(self.settings.embedding))

    @property
    def analyzer(self) -> TextAnalyzer:
        return self._once("analyzer", lambda: build_text_analyzer(self.settings.text))

    @property
    def translation_table_build(self) -> TableBuild | None:
        """Builds the analyzer's missing translation tables in the background (``start()``
        it where that pays: the server, once it is ready)."""

        def make() -> TableBuild | None:
            build = build_table_build(self.settings.text, self.analyzer)
            if build is not None:
                self._closers.append(build.stop)
            return build

        return self._once("translation_table_build", make)

    @property
    def index(self) -> VectorIndex:
        def make() -> VectorIndex:
            if self._given_index is None:
                # The build `simatch reindex` last switched to, replaceable by the next one
                # while this process runs (build_switch).
                return open_serving(self.index_generations, self.index_meta)
            self._given_index.open(self.index_meta)
            return self._given_index

        return self._opened("index", make)

    @property
    def serving_index(self) -> ServingIndex | None:
        """The index as the build that serves (None: an index given to the container)."""
        index = self.index
        return index if isinstance(index, LiveIndex) else None

    @property
    def build_switch(self) -> BuildSwitch | None:
        """Moves this process to the build `simatch reindex` switches to (``start()`` it
        where a process should follow without a restart: the server)."""
        serving = self.serving_index
        if serving is None:
            return None
        interval = self.settings.index.index_switch_interval

        def make() -> BuildSwitch:
            switch = BuildSwitch(self.index_generations, serving, self.index_meta, interval)
            self._closers.append(switch.stop)
            return switch

        return self._once("build_switch", make)

    @property
    def background_reindex(self) -> BackgroundReindex | None:
        """A reindex run inside this process (the server: ``POST /v1/index/reindex``)."""
        switch = self.build_switch
        if switch is None:
            return None

        def make() -> BackgroundReindex:
            reindex = BackgroundReindex(
                lambda: self.reindex_service, switch.serving, switch, self.locks
            )
            self._closers.append(reindex.stop)  # before the index and the stores close
            return reindex

        return self._once("background_reindex", make)

    @property
    def index_meta(self) -> IndexMeta:
        """What this process's settings build: the index must have been built the same way."""
        centring = self.centring
        return IndexMeta(
            model_id=self.embedder.model_id,
            # centred records carry their language's slots (domain.centring)
            dim=self.embedder.dim + (EXTRA_DIMS if centring is not None else 0),
            lexical=self.analyzer.signature,
            dense=centring.signature if centring is not None else "",
        )

    @property
    def reindex_service(self) -> ReindexService:
        """Rebuilds the index with this process's model beside the serving build."""

        def ingestor_for(index: VectorIndex) -> Ingestor:
            # No near-duplicate checks (the records were checked when imported) and no
            # alerts (nothing is new to the people who follow needs).
            i = self.settings.ingest
            settings = IngestSettings(
                batch_size=i.ingest_batch_size, optimize_after=i.optimize_after
            )
            return Ingestor(
                self.embedder,
                index,
                self.analyzer,
                self.cache,
                settings,
                centring=self.centring,
                pause=self.requests_first.pause,  # inside a server: matches first
            )

        return self._once(
            "reindex_service",
            lambda: ReindexService(self.index_generations, self.index_meta, ingestor_for),
        )

    @property
    def index_generations(self) -> IndexGenerations:
        """The builds of the configured collection (one client for all of them)."""
        return self._opened("index_generations", lambda: build_generations(self.settings.index))

    @property
    def cache(self) -> EmbeddingCache:
        """Vectors by model and text, so one cache serves every collection."""
        return self._opened("cache", lambda: open_embedding_cache(self.state))

    @property
    def calibration(self) -> Calibration | None:
        """Confidence and duplicate thresholds measured for this model, if any (and fitted on
        the dense vectors this process uses)."""
        m = self.settings.match
        path = m.calibration_file or self.settings.index.indexes_dir / "calibration.json"
        dense = self.centring.signature if self.centring is not None else ""
        return self._once(
            "calibration", lambda: calibration_for(path, self.embedder.model_id, dense)
        )

    @property
    def centring(self) -> LanguageCentring | None:
        """Per-language means of the model's vectors (indexes/language_means.json), if measured."""
        m = self.settings.match
        if not m.centre_languages:
            return None
        path = self.settings.index.indexes_dir / "language_means.json"
        return self._once("centring", lambda: load_centring(path, self.embedder.model_id))

    @property
    def matcher(self) -> Matcher:
        m = self.settings.match
        tuning = MatchTuning(
            dense_weight=m.dense_weight,
            lexical_weight=m.lexical_weight,
            rrf_k=m.rrf_k,
            fusion=m.fusion,
            candidates=m.candidates,
            max_text_chars=m.max_text_chars,
        )
        return self._once(
            "matcher",
            lambda: Matcher(
                self.embedder,
                self.index,
                self.analyzer,
                tuning=tuning,
                calibration=self.calibration,
                feedback=self._feedback_boosts or self.feedback_store,
                centring=self.centring,
            ),
        )

    @property
    def ingestor(self) -> Ingestor:
        i = self.settings.ingest
        threshold = i.duplicate_threshold
        if threshold is None and self.calibration is not None:
            threshold = self.calibration.duplicate
        settings = IngestSettings(
            batch_size=i.ingest_batch_size,
            optimize_after=i.optimize_after,
            duplicate_threshold=threshold,
        )
        return self._once(
            "ingestor",
            lambda: Ingestor(
                self.embedder,
                self.index,
                self.analyzer,
                self.cache,
                settings,
                centring=self.centring,
                duplicates=self.duplicates,
                listener=self.alert_hook,
                pause=self.requests_first.pause,
            ),
        )

    @property
    def state(self) -> StateBackend:
        """Where the stores live: SQLite files, or the PostgreSQL that replicas share (its
        schema migrated when first opened)."""
        s = self.settings
        return self._opened("state", lambda: open_state(s.index, s.state))

    @property
    def duplicates(self) -> DuplicateStore:
        """Near-duplicate flags found at ingest, for staff (``simatch duplicates``)."""
        return self._opened("duplicates", lambda: open_duplicate_store(self.state))

    @property
    def gaps(self) -> GapLog:
        """Questions without a good match, for staff."""
        return self._opened("gaps", lambda: open_gap_log(self.state))

    @property
    def keys(self) -> KeyStore:
        return self._opened("keys", lambda: open_key_store(self.state))

    @property
    def rate_buckets(self) -> RateBuckets:
        """Rate-limit buckets: shared by replicas on PostgreSQL, else in this process."""
        return self._opened("rate_buckets", lambda: open_rate_buckets(self.state))

    @property
    def locks(self) -> ExclusiveWork:
        """Work one process does at a time (a source sync, an import job), across replicas on
        PostgreSQL."""
        return self.state

    @property
    def sources(self) -> dict[str, Source]:
        """The external sources by name (EU F&T, haeavustuksia.fi)."""

        def make() -> dict[str, Source]:
            built = build_sources(self.settings.sources)
            self._closers.extend(source.close for source in built.values())
            return built

        return self._once("sources", make)

    @property
    def sync_state(self) -> SyncStateStore:
        return self._opened("sync_state", lambda: open_sync_state_store(self.state))

    @property
    def audit_log(self) -> AuditLog:
        """Every change to the catalogue: who, when, what, before and after."""
        return self._opened("audit_log", lambda: open_audit_log(self.state))

    @property
    def review_log(self) -> ReviewLog:
        """Staff decisions on the review queues."""
        return self._opened("review_log", lambda: open_review_log(self.state))

    @property
    def sessions(self) -> SessionStore:
        """Staff console sign-ins."""
        return self._opened("sessions", lambda: open_session_store(self.state))

    @property
    def feedback_store(self) -> FeedbackLog:
        """The match log and feedback; also the Matcher's feedback boosts."""
        s = self.settings
        return self._opened(
            "feedback_store",
            lambda: open_feedback_log(self.state, s.feedback, self.embedder.model_id, self.gaps),
        )

    # -- alerts -------------------------------------------------------------------------------

    @property
    def alert_store(self) -> AlertStore:
        """Subscriptions, the detection journal, alert history and the outbox."""
        return self._opened("alert_store", lambda: open_alert_store(self.state))

    @property
    def alert_detector(self) -> Detector:
        a = self.settings.alerts
        settings = DetectionSettings(
            min_confidence=a.alerts_min_confidence,
            top=a.alerts_top,
            max_text_chars=self.settings.match.max_text_chars,
        )
        return self._once(
            "alert_detector",
            lambda: Detector(
                self.matcher,
                self.index,
                self.alert_store,
                settings,
                self.calibration,
                cache=self.cache,
            ),
        )

    @property
    def alert_hook(self) -> AlertHook:
        return self._once(
            "alert_hook",
            lambda: AlertHook(
                self.alert_store,
                lambda: self.alert_detector,
                BarBook(self.alert_store, self.settings.match.candidates),
                enabled=self.settings.alerts.alerts_enabled,
            ),
        )

    @property
    def alert_senders(self) -> dict[str, Sender]:
        a = self.settings.alerts

        def make() -> dict[str, Sender]:
            webhook = WebhookSender(a.alerts_webhook_timeout)
            self._closers.append(webhook.close)
            senders: dict[str, Sender] = {"webhook": webhook}
            smtp = self.settings.smtp
            if smtp.smtp_host:
                from simatch.chat.catalogue import Catalogue

                config = SmtpConfig(
                    host=smtp.smtp_host,
                    port=smtp.smtp_port,
                    security=smtp.smtp_security,
                    user=smtp.smtp_user,
                    password=smtp.smtp_password.get_secret_value() if smtp.smtp_password else None,
                    sender=smtp.smtp_from,
                    timeout=smtp.smtp_timeout,
                )
                senders["email"] = EmailSender(config, Catalogue.load())
            if self.settings.slack.enabled and self.settings.slack.bot_token is not None:
                from simatch.alerts.senders.slack import SlackSender
                from simatch.chat.catalogue import Catalogue

                senders["slack"] = SlackSender(
                    self.settings.slack.bot_token.get_secret_value(),
                    Catalogue.load(),
                    base_url=self.settings.slack.api_url,
                )
            if self.settings.teams.enabled:
                from simatch.alerts.senders.teams import TeamsSender
                from simatch.bots.teams import proactive_token
                from simatch.chat.catalogue import Catalogue

                teams = TeamsSender(Catalogue.load(), proactive_token(self.settings.teams))
                self._closers.append(teams.close)
                senders["teams"] = teams
            return senders

        return self._once("alert_senders", make)

    @property
    def unsubscribe_tokens(self) -> UnsubscribeTokens:
        given = self.settings.alerts.alerts_secret
        return self._once(
            "unsubscribe_tokens",
            lambda: UnsubscribeTokens(
                given.get_secret_value()
                if given
                else self.alert_store.meta("unsubscribe_secret", secrets.token_hex(32))
            ),
        )

    @property
    def alert_dispatcher(self) -> Dispatcher:
        a = self.settings.alerts
        policy = RetryPolicy(a.alerts_max_attempts, a.alerts_backoff, a.alerts_max_backoff)
        return self._once(
            "alert_dispatcher",
            lambda: Dispatcher(
                self.alert_store,
                self.alert_senders,
                lambda s: self.alert_service.unsubscribe_url(s),
                policy,
                lease_seconds=a.alerts_lease,
                digest_hour=a.alerts_digest_hour,
                retention_days=a.alerts_retention_days,
                threads=a.alerts_send_threads,
                explain=lambda need, items: self.alert_detector.explain(need, items),
            ),
        )

    @property
    def alert_service(self) -> AlertService:
        a, api = self.settings.alerts, self.settings.api
        policy = AlertPolicy(
            allow_http=a.alerts_allow_http,
            digest_hour=a.alerts_digest_hour,
            public_url=a.alerts_public_url or f"http://{api.api_host}:{api.api_port}",
            channels=tuple(self.alert_senders),  # type: ignore[arg-type]
            reminder_days=tuple(a.alerts_reminder_days),
        )
        return self._once(
            "alert_service",
            lambda: AlertService(
                self.alert_store,
                lambda: self.record_service,
                lambda: self.alert_detector,
                self.alert_dispatcher,
                self.unsubscribe_tokens,
                policy,
                lambda: catch_up(
                    self.alert_store,
                    self.alert_detector,
                    self.index,
                    self.ingestor.document_vectors,
                ),
                feedback=lambda: self.feedback_service,
            ),
        )

    # -- services: what the transports use ------------------------------------------------

    @property
    def match_service(self) -> MatchService:
        m = self.settings.match
        return self._once(
            "match_service",
            lambda: MatchService(
                self.matcher,
                self.feedback_store,
                limits=MatchLimits(m.match_limit, m.match_max_limit),
                concurrency=m.match_concurrency or None,
                requests=self.requests_first,
                pin=self.serving_index.pinned if self.serving_index is not None else None,
            ),
        )

    @property
    def requests_first(self) -> RequestsFirst:
        """Where background imports wait while matches are being answered."""
        return self._once("requests_first", RequestsFirst)

    @property
    def feedback_service(self) -> FeedbackService:
        return self._once("feedback_service", lambda: FeedbackService(self.feedback_store))

    @property
    def record_service(self) -> RecordService:
        return self._once(
            "record_service",
            lambda: RecordService(self.ingestor, self.index, audit=self.audit_log),
        )

    @property
    def record_search(self) -> RecordSearch:
        return self._once("record_search", lambda: RecordSearch(self.index, self.analyzer))

    @property
    def audit_service(self) -> AuditService:
        return self._once("audit_service", lambda: AuditService(self.audit_log))

    @property
    def session_service(self) -> SessionService:
        api = self.settings.api
        return self._once(
            "session_service",
            lambda: SessionService(
                self.keys,
                self.sessions,
                timedelta(hours=api.console_session_hours),
                timedelta(minutes=api.console_idle_minutes),
            ),
        )

    @property
    def import_service(self) -> ImportService:
        indexes = self.settings.index.indexes_dir
        return self._once(
            "import_service",
            lambda: ImportService(self.ingestor, indexes, audit=self.audit_log, locks=self.locks),
        )

    @property
    def import_jobs(self) -> ImportJobStore:
        return self._opened("import_jobs", lambda: open_import_jobs(self.state))

    @property
    def import_job_service(self) -> ImportJobService:
        """Background imports (API, staff console: staged with a preview first);
        ``start()`` it where jobs should run."""
        uploads = self.settings.index.data_dir / UPLOADS_DIR
        days = self.settings.ingest.import_upload_days

        def build() -> ImportJobService:
            service = ImportJobService(
                self.import_service,
                self.import_jobs,
                uploads,
                previewer=ImportPreviewer(self.index, self.analyzer),
                locks=self.locks,
                lease_seconds=self.settings.ingest.import_lease,
                keep_uploads=timedelta(days=days) if days > 0 else None,
            )
            self._closers.append(service.stop)  # before the stores it writes to close
            return service

        return self._once("import_job_service", build)

    @property
    def sync_service(self) -> SyncService:
        return self._once(
            "sync_service",
            lambda: SyncService(
                self.sources,
                self.import_service,
                self.record_service,
                self.sync_state,
                self.locks,
                max_withdraw=self.settings.sources.sync_max_withdraw,
            ),
        )

    @property
    def sync_scheduler(self) -> SyncScheduler:
        """Background syncs for ``simatch serve`` (SIMATCH_SYNC_INTERVAL, POST /v1/sources/sync)."""
        interval = self.settings.sources.sync_interval
        return self._opened("sync_scheduler", lambda: SyncScheduler(self.sync_service, interval))

    @property
    def gap_service(self) -> GapService:
        return self._once("gap_service", lambda: GapService(self.gaps))

    @property
    def key_service(self) -> KeyService:
        return self._once("key_service", lambda: KeyService(self.keys))

    @property
    def index_info_service(self) -> IndexInfoService:
        ix = self.settings.index
        backend = f"qdrant server {ix.qdrant_url}" if ix.qdrant_url else "qdrant-edge"
        return self._once(
            "index_info_service",
            lambda: IndexInfoService(
                lambda: self.embedder,
                lambda: self.index,
                backend,
                # Shared state is checked only where it can be down: a PostgreSQL server.
                (lambda: self.state.ping()) if self.settings.state.postgres_url else None,
            ),
        )

    @property
    def duplicate_service(self) -> DuplicateService:
        threshold = self.settings.ingest.duplicate_threshold
        if threshold is None and self.calibration is not None:
            threshold = self.calibration.duplicate
        return self._once(
            "duplicate_service",
            lambda: DuplicateService(self.index, self.analyzer, self.duplicates, threshold),
        )

    @property
    def review_service(self) -> ReviewService:
        # Two questions are one gap when they are as close as feedback's "same question".
        same = self.settings.feedback.feedback_min_similarity
        return self._once(
            "review_service",
            lambda: ReviewService(
                self.review_log,
                self.audit_log,
                self.record_service,
                self.duplicate_service,
                self.gaps,
                self.feedback_store,
                self.index,
                self.embedder,
                same_question=same,
            ),
        )

    @property
    def dashboard_service(self) -> DashboardService:
        return self._once(
            "dashboard_service",
            lambda: DashboardService(self.index, self.feedback_store, self.gaps),
        )

    @property
    def state_migration_service(self) -> StateMigrationService:
        """Copies this installation's SQLite stores (in its data dir) to a PostgreSQL."""
        from simatch.stores.transfer import copy_state

        data_dir = self.settings.index.data_dir
        return self._once(
            "state_migration_service",
            lambda: StateMigrationService(lambda url: copy_state(data_dir, url)),
        )

    @property
    def chat_engine(self) -> Engine:
        """The conversation engine behind the Slack and Teams apps, on the same services as the
        API (one match log, one gap log, one concurrency limit)."""
        from simatch.chat.catalogue import Catalogue
        from simatch.chat.engine import Engine
        from simatch.chat.state import StoredConversations

        chat = self.settings.chat

        def threads() -> ConversationStates:  # opened with the engine, not before
            return self._opened(
                "chat_threads",
                lambda: open_conversation_states(
                    self.state, chat.chat_memory_hours * 3600, chat.chat_max_threads
                ),
            )

        return self._once(
            "chat_engine",
            lambda: Engine(
                self.match_service,
                self.feedback_service,
                self.record_service,
                self.gap_service,
                catalogue=Catalogue.load(chat.chat_language),
                store=StoredConversations(threads()),
                alerts=self.alert_service if self.settings.alerts.alerts_enabled else None,
            ),
        )

    def close(self) -> None:
        with self._lock:
            for close in reversed(self._closers):
                close()
            self._closers.clear()
