"""One message catalogue: every language has every text, and the code uses only known keys."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from simatch.chat.catalogue import Catalogue
from simatch.chat.render import reason_line
from simatch.domain.results import MatchItem, Reason, RecordRef, Why

SRC = Path(__file__).resolve().parents[2] / "src" / "simatch"


def test_every_language_has_every_text_with_the_same_placeholders() -> None:
    cat = Catalogue.load()
    assert cat.languages == ("fi", "en", "sv")
    keys = cat.keys("en")
    for lang in cat.languages:
        assert cat.keys(lang) == keys, lang
        for key in keys - {"date"}:  # date formats differ by design
            english = set(re.findall(r"{(\w+)}", str(cat.raw("en", key))))
            assert set(re.findall(r"{(\w+)}", str(cat.raw(lang, key)))) == english, (lang, key)


def test_texts_named_in_the_code_exist() -> None:
    keys = Catalogue.load().keys()
    code = "\n".join(p.read_text() for p in [*SRC.glob("chat/*.py"), *SRC.glob("bots/*.py")])
    named = set(
        re.findall(r'"((?:button|consent|error|feedback|section|no|reason)_[a-z_]+)"', code)
    )
    assert named - keys == set()


def test_dates_and_unknown_languages() -> None:
    cat = Catalogue.load()
    assert cat.format_date("fi", date(2027, 3, 5)) == "5.3.2027"
    assert cat.format_date("en", date(2027, 3, 5)) == "5 March 2027"
    assert cat.language("de") == "en"
    assert (
        cat.text("en", "error_too_long")
        == "That message is too long for me ({max} characters at most). Could you shorten it?"
    )


def test_reason_line_names_the_evidence_in_the_users_language() -> None:
    cat = Catalogue.load()
    item = MatchItem(
        id="stea",
        kind="funder",
        title="STEA",
        score=0.9,
        why=Why(
            passage="x",
            reasons=[Reason(code="funded_similar", params={"titles": ["Kylätalo", "Verkko"]})],
        ),
        records=[RecordRef(id="i1", kind="innovation", title="Kylätalo")],
    )
    assert reason_line(item, "fi", cat) == "On rahoittanut samankaltaista: Kylätalo, Verkko"
    assert reason_line(item, "en", cat) == "Has funded similar work: Kylätalo, Verkko"
    solution = MatchItem(
        id="i1",
        kind="innovation",
        title="Kylätalo",
        score=0.5,
        confidence="weak",
        why=Why(
            passage="Kylätalo. Nuorisoilta kylätalolla.",
            reasons=[
                Reason(code="terms", params={"terms": ["nuori", "kylä"]}),
                Reason(code="region", params={"regions": ["national"]}),
            ],
        ),
    )
    assert reason_line(solution, "en", cat) == "Matches nuori, kylä · works nationwide (weak match)"
