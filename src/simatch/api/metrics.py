"""Prometheus metrics, one registry per app (tests build many apps in one process)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

_LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "simatch_http_requests",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_latency = Histogram(
            "simatch_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.match_latency = Histogram(
            "simatch_match_duration_seconds",
            "Time spent matching (embedding, retrieval, fusion, logging) per /v1/match.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.feedback = Counter(
            "simatch_feedback",
            "Feedback received, by verdict.",
            ["verdict"],
            registry=self.registry,
        )
        self.imported_rows = Counter(
            "simatch_import_rows",
            "Rows read by imports, by outcome (added, updated, unchanged, rejected).",
            ["outcome"],
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
