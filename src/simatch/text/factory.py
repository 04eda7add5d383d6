"""The one place the ``TextAnalyzer`` is built from ``TextSettings``."""

from __future__ import annotations

from simatch.config import TextSettings
from simatch.domain.ports import TextAnalyzer
from simatch.text.analyzer import LexicalAnalyzer, build_analyzer
from simatch.text.table_build import TableBuild, build_command


def build_text_analyzer(settings: TextSettings) -> TextAnalyzer:
    return build_analyzer(
        use_voikko=settings.lemmatizer,
        dict_dir=settings.dict_dir,
        translate=settings.translate,
        table_dir=settings.translation_table_dir,
    )


def build_table_build(settings: TextSettings, analyzer: TextAnalyzer) -> TableBuild | None:
    """The background build of missing translation tables for this analyzer's dictionaries
    (``simatch serve``); None when it reads no tables."""
    if settings.translation_table_dir is None or not isinstance(analyzer, LexicalAnalyzer):
        return None
    if not analyzer.dictionaries:
        return None
    command = build_command(settings.translation_table_dir, settings.dict_dir, settings.lemmatizer)
    return TableBuild(list(analyzer.dictionaries.values()), command)
