"""Prometheus metrics: counts and timings only, never a value. One registry per app."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "veil_requests", "Requests answered.", ["endpoint", "status"], registry=self.registry
        )
        self.entities = Counter(
            "veil_entities",
            "Values found: pseudonymized in requests, redacted in responses.",
            ["entity_type", "direction"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "veil_request_duration_seconds",
            "Time to answer (to the last byte for streams).",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.detection = Histogram(
            "veil_request_detection_seconds",
            "Time spent finding and replacing values in one request.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "veil_upstream_errors", "Upstream failures by kind.", ["kind"], registry=self.registry
        )
        self.storage_errors = Counter(
            "veil_storage_errors", "Request records that could not be stored.", registry=self.registry
        )
        self.purged = Counter(
            "veil_purged_rows", "Rows removed by retention purges.", ["category"], registry=self.registry
        )
        self.tokens = Counter(
            "veil_response_tokens", "Tokens met in replies.", ["outcome"], registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
