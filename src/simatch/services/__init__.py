"""The use cases, one module per concern: the only door the transports (API, CLI, chat) use.
``simatch.wiring.Container`` builds them; each takes the ports it needs, never an adapter."""

from simatch.services.alerts import AlertPolicy, AlertService, RunReport
from simatch.services.audit import AuditPage, AuditService
from simatch.services.background import RequestsFirst
from simatch.services.dashboard import DashboardService
from simatch.services.duplicates import DuplicateService
from simatch.services.feedback import FeedbackPage, FeedbackService
from simatch.services.gaps import GapService
from simatch.services.import_jobs import ImportJobService
from simatch.services.import_preview import ImportPreview, ImportPreviewer
from simatch.services.imports import ImportService
from simatch.services.index_builds import BackgroundReindex, BuildSwitch, ReindexState
from simatch.services.index_info import IndexInfo, IndexInfoService
from simatch.services.keys import KeyService
from simatch.services.match import MatchLimits, MatchService
from simatch.services.record_search import RecordCriteria, RecordHits, RecordSearch
from simatch.services.records import RecordPage, RecordService, StoredRecord
from simatch.services.reindex import ReindexReport, ReindexService
from simatch.services.reviews import ReviewService
from simatch.services.sessions import SessionService
from simatch.services.sources import SourceStatus, SyncService
from simatch.services.state import StateMigrationService
from simatch.services.sync_schedule import SyncScheduler

__all__ = [
    "AlertPolicy",
    "AlertService",
    "AuditPage",
    "AuditService",
    "BackgroundReindex",
    "BuildSwitch",
    "DashboardService",
    "DuplicateService",
    "FeedbackPage",
    "FeedbackService",
    "GapService",
    "ImportJobService",
    "ImportPreview",
    "ImportPreviewer",
    "ImportService",
    "IndexInfo",
    "IndexInfoService",
    "KeyService",
    "MatchLimits",
    "MatchService",
    "RecordCriteria",
    "RecordHits",
    "RecordPage",
    "RecordSearch",
    "RecordService",
    "ReindexReport",
    "ReindexService",
    "ReindexState",
    "RequestsFirst",
    "ReviewService",
    "RunReport",
    "SessionService",
    "SourceStatus",
    "StateMigrationService",
    "StoredRecord",
    "SyncScheduler",
    "SyncService",
]
