"""Ingest through the real index and text toolbox, with the fake embedder (fast)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from simatch.domain.ports import SearchFilter
from simatch.ingest.readers import read_path, read_stream
from tests.conftest import ContainerFactory

GOOD = [
    {
        "kind": "innovation",
        "id": "i1",
        "title": "Nuorisotila kylälle",
        "summary": "Nuoret kokoontuvat kylätalolla ja yksinäisyys vähenee.",
        "organisation": "Kylä ry",
        "regions": ["Kainuu"],
        "funders": ["STEA"],
    },
    {
        "kind": "need",
        "id": "n1",
        "title": "Yksinäiset nuoret",
        "description": "Kunnassamme nuoret ovat yksinäisiä.",
        "organisation": "Pikkukunta",
    },
    {
        "kind": "call",
        "id": "c1",
        "title": "Avustushaku",
        "description": "Nuorten hyvinvointi.",
        "funder": "STEA",
        "deadline": "2099-01-31",
    },
    {"kind": "actor", "id": "a1", "name": "Kylä ry", "description": "Kyläyhdistys Kainuussa."},
]


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_broken_rows_are_reported_and_good_rows_land(
    tmp_path: Path, make_container: ContainerFactory
) -> None:
    box = make_container()
    first = box.ingestor.ingest(read_path(write_jsonl(tmp_path / "good.jsonl", GOOD)))
    assert (first.added, first.rejected) == (4, [])

    broken = write_jsonl(
        tmp_path / "broken.jsonl",
        [
            {"kind": "innovation", "id": "i2", "title": "Hyvä rivi", "summary": "Toimii."},
            "{not json",
            {"kind": "innovation", "id": "i3", "summary": "No title"},
            {
                "kind": "call",
                "id": "c2",
                "title": "T",
                "description": "D",
                "funder": "F",
                "deadline": "ensi viikolla",
            },
            {"kind": "gadget", "id": "g1", "title": "?"},
            {"kind": "need", "id": "n2", "title": "T", "description": "D", "regions": 7},
            {"kind": "actor", "id": "a2", "name": "Toinen ry", "description": "Hyvä sekin."},
        ],
    )
    report = box.ingestor.ingest(read_path(broken))
    by_line = {r.line: r for r in report.rejected}
    assert sorted(by_line) == [2, 3, 4, 5, 6]
    assert "invalid JSON" in by_line[2].reason
    assert by_line[3].field == "title"
    assert by_line[4].field == "deadline"
    assert by_line[5].field == "kind" and "gadget" in by_line[5].reason
    assert by_line[6].field == "regions.0" or by_line[6].field == "regions"
    assert all(r.source.endswith("broken.jsonl") for r in report.rejected)
    assert report.added == 2
    # Nothing that was already there is lost.
    assert box.index.count(SearchFilter()) == 6


def test_reingest_changes_nothing_and_embeds_nothing(
    tmp_path: Path, make_container: ContainerFactory
) -> None:
    box = make_container()
    path = write_jsonl(tmp_path / "good.jsonl", GOOD)
    box.ingestor.ingest(read_path(path))
    again = box.ingestor.ingest(read_path(path))
    assert (again.added, again.updated, again.unchanged, again.embedded) == (0, 0, 4, 0)


def test_changed_metadata_updates_without_reembedding(
    tmp_path: Path, make_container: ContainerFactory
) -> None:
    box = make_container()
    box.ingestor.ingest(read_path(write_jsonl(tmp_path / "a.jsonl", GOOD)))
    changed = [dict(GOOD[0], regions=["Kainuu", "Lappi"])]
    report = box.ingestor.ingest(read_path(write_jsonl(tmp_path / "b.jsonl", changed)))
    assert (report.updated, report.embedded) == (1, 0)
    stored = box.index.get(["innovation:i1"])["innovation:i1"]
    assert stored["record"]["regions"] == ["Kainuu", "Lappi"]


def test_csv_rows_report_their_line_numbers(make_container: ContainerFactory) -> None:
    box = make_container()
    csv_text = (
        "kind,id,title,summary,regions\n"
        'innovation,c1,"Otsikko","Tiivistelmä, jossa pilkku","Kainuu;Lappi"\n'
        "innovation,c2,,puuttuu otsikko,\n"
    )
    report = box.ingestor.ingest(read_stream(io.BytesIO(csv_text.encode()), "upload.csv"))
    assert report.added == 1
    assert [(r.line, r.field) for r in report.rejected] == [(3, "title")]
    stored = box.index.get(["innovation:c1"])["innovation:c1"]["record"]
    assert stored["regions"] == ["Kainuu", "Lappi"]


def test_language_is_detected_when_missing(
    tmp_path: Path, make_container: ContainerFactory
) -> None:
    box = make_container()
    rows = [
        {
            "kind": "actor",
            "id": "fi1",
            "name": "Nuorten tuki ry",
            "description": "Autamme syrjäytymisvaarassa olevia nuoria löytämään harrastuksia.",
        },
        {
            "kind": "actor",
            "id": "en1",
            "name": "Youth Aid",
            "description": "We help young people at risk of exclusion to find hobbies and friends.",
        },
    ]
    box.ingestor.ingest(read_path(write_jsonl(tmp_path / "x.jsonl", rows)))
    got = box.index.get(["actor:fi1", "actor:en1"])
    assert got["actor:fi1"]["language"] == "fi"
    assert got["actor:en1"]["language"] == "en"


def test_delete_removes_records(tmp_path: Path, make_container: ContainerFactory) -> None:
    box = make_container()
    box.ingestor.ingest(read_path(write_jsonl(tmp_path / "g.jsonl", GOOD)))
    assert box.ingestor.delete(["need:n1", "need:missing"]) == 1
    assert box.index.get(["need:n1"]) == {}
    assert box.index.count(SearchFilter()) == 3
