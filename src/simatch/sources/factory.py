"""Builds the sources from settings, by name (the order ``--all`` syncs them in)."""

from __future__ import annotations

from simatch.config import SourceSettings
from simatch.domain.sources import Source
from simatch.sources.http import HttpPolicy, SourceHttp


def build_sources(settings: SourceSettings) -> dict[str, Source]:
    from simatch.sources.eu_ft import EuFundingTenders
    from simatch.sources.haeavustuksia import Haeavustuksia

    policy = HttpPolicy(
        timeout=settings.source_timeout,
        retries=settings.source_retries,
        backoff=settings.source_backoff,
        contact=settings.source_contact,
    )
    sources: list[Source] = [
        EuFundingTenders(SourceHttp(policy), settings.euft_url, settings.source_page_delay),
        Haeavustuksia(SourceHttp(policy), settings.haeavustuksia_url, settings.source_page_delay),
    ]
    return {source.name: source for source in sources}
