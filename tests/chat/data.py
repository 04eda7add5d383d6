"""A small corpus for chat tests (fake embedder): lonely young and old people, and more."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from simatch.domain.confidence import Calibration
from simatch.embeddings.fake import FakeEmbedder
from simatch.ingest.readers import RawRow
from simatch.wiring import Container

# id, title, summary, organisation, region, funders
INNOVATIONS = [
    ("i1", "Nuorten yksinäisyys kylällä",
     "Nuorten yksinäisyys vähenee, kun kylätalolla on nuorisoilta.", "Kylä ry", "Kainuu", "STEA"),
    ("i2", "Nuorten yksinäisyys verkossa", "Nuorten yksinäisyys helpottaa verkkopeli-illoissa.",
     "Kylä ry", "valtakunnallinen", "STEA;Sitra"),
    ("i3", "Yksinäisyys pois Pirkanmaalla",
     "Nuorten ja ikäihmisten yksinäisyys vähenee kohtaamispaikoissa.", "Tampereen Setlementti",
     "Pirkanmaa", "Tampereen kaupunki"),
    ("i4", "Yksinäisten nuorten kaverit",
     "Vapaaehtoiset kaverit yksinäisille nuorille Uudellamaalla.", "Kaveriverkko", "Uusimaa",
     "Kela"),
    ("i5", "Nuorten yksinäisyys koulussa",
     "Koulun välitunneilla nuorten yksinäisyys näkyy; tukioppilaat auttavat.", "Koulutuki ry",
     "Uusimaa", "Opetushallitus"),
    ("i6", "Nuorten yksinäisyys harrastuksissa",
     "Maksuton harrastus vähentää nuorten yksinäisyyttä.", "Harrastus ry", "Lappi", "STEA"),
    ("i7", "Loneliness of young people online",
     "Young people's loneliness eases in online game nights with youth workers.",
     "Youth Online", "Uusimaa", "EU ESF+"),
    ("i8", "Loneliness among young people in villages",
     "Village youth evenings reduce the loneliness of young people.", "Village Youth",
     "Pirkanmaa", "Leader"),
]  # fmt: skip


def records(today: date | None = None) -> list[dict[str, Any]]:
    day = today or date.today()
    rows: list[dict[str, Any]] = [
        {
            "kind": "innovation",
            "id": ident,
            "title": title,
            "summary": summary,
            "organisation": org,
            "regions": [region],
            "funders": funders.split(";"),
            "url": f"https://example.org/{ident}",
        }
        for ident, title, summary, org, region, funders in INNOVATIONS
    ]
    rows += [
        {
            "kind": "actor",
            "id": "a1",
            "name": "Kylä ry",
            "description": "Nuorten yksinäisyys on työmme.",
            "regions": ["Kainuu"],
        },
        {
            "kind": "need",
            "id": "n1",
            "title": "Nuorten yksinäisyys pikkukunnassa",
            "description": "Nuorten yksinäisyys on kasvanut pikkukunnassa.",
            "organisation": "Pikkukunta",
            "regions": ["Kainuu"],
        },
        {
            "kind": "call",
            "id": "c1",
            "title": "Nuorten yksinäisyys -haku",
            "description": "Rahoitusta nuorten yksinäisyyden vähentämiseen.",
            "funder": "STEA",
            "deadline": (day + timedelta(days=40)).isoformat(),
            "eligible_applicants": ["yhdistykset"],
            "url": "https://example.org/c1",
        },
        {
            "kind": "call",
            "id": "c2",
            "title": "Youth loneliness call",
            "description": "Funding to reduce the loneliness of young people.",
            "funder": "EU ESF+",
            "deadline": (day + timedelta(days=10)).isoformat(),
            "regions": ["Uusimaa"],
        },
        {
            "kind": "call",
            "id": "c3",
            "title": "Yksinäisyyden vastainen haku Kainuussa",
            "description": "Rahoitusta nuorten yksinäisyyden vähentämiseen Kainuussa.",
            "funder": "Kainuun liitto",
            "deadline": (day + timedelta(days=60)).isoformat(),
            "regions": ["Kainuu"],
        },
    ]
    return rows


# The fake model calibrated so that unrelated text is 'weak'.
CALIBRATION = Calibration(model_id=FakeEmbedder().model_id, strong=0.6, possible=0.3)


def fill(container: Container, today: date | None = None) -> Container:
    """Ingest the corpus (into a container made with ``calibration=CALIBRATION``)."""
    rows = [RawRow("chat-test", n, r) for n, r in enumerate(records(today), start=1)]
    report = container.ingestor.ingest(rows)
    assert not report.rejected, report.rejected
    return container
