"""The one place the ``TextAnalyzer`` is built from ``TextSettings``."""

from __future__ import annotations

from simatch.config import TextSettings
from simatch.domain.ports import TextAnalyzer
from simatch.text.analyzer import build_analyzer


def build_text_analyzer(settings: TextSettings) -> TextAnalyzer:
    return build_analyzer(
        use_voikko=settings.lemmatizer,
        dict_dir=settings.dict_dir,
        translate=settings.translate,
        table_dir=settings.translation_table_dir,
    )
