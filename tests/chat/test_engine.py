"""The conversation engine alone (no HTTP): a whole conversation per test, real index and
services with the fake embedder."""

from __future__ import annotations

from typing import Any

import pytest

from simatch.chat.engine import Engine
from simatch.chat.replies import ActionEvent, Button, Incoming, Reply
from simatch.domain.ports import SearchFilter
from simatch.errors import BackendUnavailable
from simatch.wiring import Container

FI_QUESTION = "Nuorten yksinäisyys kylällä on kasvava ongelma"
EN_QUESTION = "Loneliness of young people in villages is growing"
NO_MATCH = "Kvanttitietokoneiden jäähdytysjärjestelmien optimointi laboratoriossa"


def say(engine: Engine, text: str, conv: str = "t1", user: str = "U1") -> Reply:
    reply = engine.handle(Incoming("test", user, conv, text))
    assert reply is not None
    return reply


def press(engine: Engine, button: Button, conv: str = "t1", user: str = "U1") -> Reply:
    return engine.act(ActionEvent("test", user, conv, button.action, button.value))


def button(reply: Reply, action: str) -> Button:
    return next(b for b in reply.buttons if b.action == action)


def ids(reply: Reply, section: str) -> list[str]:
    return [i.id for s in reply.sections if s.key == section for i in s.items]


def test_answer_has_three_sections_with_reasons_links_and_buttons(engine: Engine) -> None:
    reply = say(engine, FI_QUESTION)
    assert reply.kind == "answer" and reply.language == "fi"
    assert [s.heading for s in reply.sections] == ["Ratkaisut", "Kumppanit", "Rahoittajat"]
    for section in reply.sections:
        assert 1 <= len(section.items) <= 3
        for item in section.items:
            assert item.reason and "\n" not in item.reason
            assert [b.value["v"] for b in item.buttons] == ["useful", "not_useful"]
            assert all(b.value["m"] == reply.match_id for b in item.buttons)
    assert ids(reply, "solutions")[0] == "i1"
    assert reply.sections[0].items[0].url == "https://example.org/i1"
    calls = [i for i in reply.sections[2].items if i.id == "c1"]
    assert calls and "Haku päättyy" in (calls[0].detail or "")
    assert "STEA" in (calls[0].detail or "")
    assert [b.action for b in reply.buttons] == ["more", "save_need"]
    assert [b.label for b in reply.buttons] == ["Näytä lisää", "Tallenna tarpeeksi"]


def test_answers_in_the_language_of_the_question(engine: Engine) -> None:
    reply = say(engine, EN_QUESTION)
    assert reply.language == "en"
    assert [s.heading for s in reply.sections] == ["Solutions", "Peers", "Funders"]
    assert reply.text.startswith("Here's what I found")


def test_region_follow_up_refines_the_last_question(engine: Engine, container: Container) -> None:
    say(engine, FI_QUESTION)
    reply = say(engine, "vain Kainuu")
    assert reply.kind == "answer" and reply.language == "fi"
    assert any("Kainuu" in n for n in reply.notes)
    regions = {r for s in reply.sections if s.key == "solutions" for i in s.items for r in [i.id]}
    # Only Kainuu or nationwide innovations: i1 (Kainuu), i2 (valtakunnallinen).
    assert regions <= {"i1", "i2"}
    english = say(engine, "only Uusimaa")
    assert english.language == "en"
    assert any("Uusimaa" in n for n in english.notes)
    assert set(ids(english, "solutions")) <= {"i2", "i4", "i5", "i7"}
    cleared = say(engine, "kaikki alueet")
    assert cleared.notes == [] and cleared.language == "fi"


def test_section_and_show_more_follow_ups_page_through_results(engine: Engine) -> None:
    first = say(engine, FI_QUESTION)
    more_funders = say(engine, "lisää rahoittajia")
    assert more_funders.kind == "more"
    assert [s.key for s in more_funders.sections] == ["funders"]
    assert not set(ids(more_funders, "funders")) & set(ids(first, "funders"))
    more = press(engine, button(first, "more"))
    assert more.kind == "more" and [s.key for s in more.sections] == list(
        ("solutions", "peers", "funders")
    )
    assert not set(ids(more, "solutions")) & set(ids(first, "solutions"))
    shown = set(ids(first, "funders")) | set(ids(more_funders, "funders"))
    assert not set(ids(more, "funders")) & shown
    english = say(engine, "more funders, in English")
    assert english.language == "en"


def test_language_follow_up_switches_and_sticks(engine: Engine) -> None:
    say(engine, FI_QUESTION)
    reply = say(engine, "in English")
    assert reply.kind == "answer" and reply.language == "en"
    assert reply.sections[0].heading == "Solutions"
    later = say(engine, "Ikäihmisten yksinäisyys maaseudulla on suuri ongelma")
    assert later.language == "en"
    assert say(engine, "suomeksi").language == "fi"


def test_vague_question_gets_one_clarifying_question(engine: Engine) -> None:
    reply = say(engine, "nuoret")
    assert reply.kind == "clarify" and reply.language == "fi"
    assert reply.text.startswith("Kertoisitko")
    answer = say(engine, "yksinäisyys")  # still short, but never asked twice
    assert answer.kind == "answer"
    english = say(engine, "help youth", conv="t2")
    assert english.kind == "clarify" and english.language == "en"


def test_follow_up_without_a_question_is_treated_as_a_question(engine: Engine) -> None:
    assert say(engine, "only Uusimaa").kind == "clarify"


def test_no_good_match_is_honest_and_recorded_as_a_gap(engine: Engine) -> None:
    reply = say(engine, NO_MATCH)
    assert reply.kind == "no_match" and reply.language == "fi"
    assert "En löytänyt" in reply.text and "Vinkkejä" in reply.text
    assert reply.sections == []
    assert [b.action for b in reply.buttons] == ["show_anyway", "save_need"]
    gaps = engine.gaps.list()
    assert [g.text for g in gaps] == [NO_MATCH]
    assert gaps[0].language == "fi" and gaps[0].platform == "test"
    assert "U1" not in repr(gaps[0])  # never who asked
    anyway = press(engine, button(reply, "show_anyway"))
    assert anyway.kind == "answer" and anyway.sections
    assert engine.gaps.count() == 1


def test_save_as_need_with_consent_makes_the_actor_a_peer(
    engine: Engine, container: Container
) -> None:
    question = "Ikäihmisten yksinäisyys haja-asutusalueella kasvaa talvisin"
    first = say(engine, question, user="U1")
    prompt = press(engine, button(first, "save_need"), user="U1")
    assert prompt.kind == "consent" and "Tallentaisin" in prompt.text
    assert [b.action for b in prompt.buttons] == ["cancel"]
    # Someone else in the thread cannot consent for U1.
    assert say(engine, "Väärä ry", user="U2").kind != "saved"
    saved = say(engine, "Kylätalo ry, info@kylatalo.fi", user="U1")
    assert saved.kind == "saved" and "Kylätalo ry" in saved.text
    needs = [
        h.payload["record"]
        for h in container.index.scroll(SearchFilter(kinds=("need",)), 50)[0]
        if h.payload["id"].startswith("chat-")
    ]
    assert len(needs) == 1
    need = needs[0]
    assert need["description"] == question and need["organisation"] == "Kylätalo ry"
    assert need["contact"] == "info@kylatalo.fi" and need["source"] == "chat:test"
    assert "U1" not in repr(need) and "Väärä" not in repr(need)
    other = say(engine, "Ikäihmisten yksinäisyys haja-asutusalueella on ongelma", conv="t9")
    peers = [i.title for s in other.sections if s.key == "peers" for i in s.items]
    assert "Kylätalo ry" in peers


def test_consent_can_be_cancelled(engine: Engine, container: Container) -> None:
    first = say(engine, FI_QUESTION)
    press(engine, button(first, "save_need"))
    assert say(engine, "peruuta").text == "Selvä, mitään ei tallennettu."
    before = container.index.count(SearchFilter(kinds=("need",)))
    assert say(engine, "Kylätalo ry").kind != "saved"
    assert container.index.count(SearchFilter(kinds=("need",))) == before


def test_consent_needs_an_organisation_name(engine: Engine) -> None:
    first = say(engine, EN_QUESTION)
    press(engine, button(first, "save_need"))
    reply = say(engine, "x@y.fi")
    assert reply.kind == "consent" and "organisation" in reply.text


@pytest.mark.parametrize(
    ("text", "language", "marker"),
    [("apua", "fi", "Mitä tallennan"), ("help", "en", "What I store"), ("hjälp", "sv", "Vad jag")],
)
def test_help_explains_what_it_does_and_stores(
    engine: Engine, text: str, language: str, marker: str
) -> None:
    reply = say(engine, text)
    assert reply.kind == "help" and reply.language == language
    assert marker in reply.text


def test_feedback_reaches_the_feedback_service(engine: Engine, container: Container) -> None:
    answer = say(engine, FI_QUESTION)
    up = answer.sections[0].items[0].buttons[0]
    thanks = press(engine, up)
    assert thanks.kind == "feedback" and thanks.private and thanks.language == "fi"
    entries = container.feedback_service.list().items
    assert [(e.match_id, e.item_id, e.verdict, e.source) for e in entries] == [
        (answer.match_id, "i1", "useful", "test")
    ]


def test_feedback_failure_is_a_polite_private_reply(engine: Engine) -> None:
    say(engine, FI_QUESTION)
    bad = Button("👍", "feedback", {"m": "no-such-match", "i": "i1", "v": "useful"})
    reply = press(engine, bad)
    assert reply.kind == "error" and reply.private and "palautetta" in reply.text


def test_buttons_of_a_forgotten_question_say_so(engine: Engine) -> None:
    reply = press(engine, Button("more", "more", {"q": "gone"}), conv="unknown")
    assert reply.kind == "info" and "no longer" in engine.catalogue.text("en", "expired")


class _Down:
    def match(self, query: Any, **options: Any) -> Any:
        raise BackendUnavailable("index down")


def test_matching_failure_is_an_apology_in_the_users_language(engine: Engine) -> None:
    engine.matches = _Down()
    reply = say(engine, EN_QUESTION)
    assert reply.kind == "error" and reply.language == "en"
    assert "can't search right now" in reply.text
    assert say(engine, FI_QUESTION, conv="t2").text.startswith("Pahoittelen")


def test_too_long_text_asks_to_shorten(engine: Engine) -> None:
    reply = say(engine, "yksinäisyys nuoret kylä " * 400)
    assert reply.kind == "error" and "4000" in reply.text


def test_unaddressed_thread_messages_get_a_reply_only_for_follow_ups(engine: Engine) -> None:
    def aside(text: str, user: str = "U2") -> Reply | None:
        return engine.handle(Incoming("test", user, "t1", text, addressed=False))

    assert aside(FI_QUESTION) is None  # no question asked yet in this thread
    say(engine, FI_QUESTION)
    assert aside("Kiitos, katsotaan näitä huomenna palaverissa") is None
    assert aside("apua") is None
    refined = aside("vain Kainuu")
    assert refined is not None and refined.kind == "answer"
