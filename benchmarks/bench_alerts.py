"""Alerts: what detection adds to an import, and how fast the webhook sender delivers.

    flock /tmp/simatch-cpu.lock .venv/bin/python benchmarks/bench_alerts.py [--quick]

1. Detection. An index with N followed needs (N = 0, 1,000 and 10,000 need records, each
   with a webhook subscription) and an import of 1,000 new calls, with alerts off and on,
   alternated (the best round of each counts; each round imports calls with new ids, so every
   call is new, while their texts come from the embedding cache so that rounds compare the
   index and detection work alone). The first, cold import (alerts off: the calls embedded by
   the model) is what an import of new calls costs in practice; detection is compared with
   both. Also counted: reverse matches run (needs checked the exact way after screening) and
   deliveries made. Preparing the followed needs (their question vectors, once per process)
   is reported on its own.
2. Delivery. Deliveries in the outbox sent by the dispatcher to a local receiver that checks
   each signature, against the same bodies POSTed with the same HTTP client in a plain loop,
   and from as many threads as the dispatcher uses.

Synthetic texts (Finnish and English, about 15-30 words), written here from a few templates,
so that calls and needs share topics the way real ones do; the real model and index.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from simatch.alerts.senders.webhook import WebhookSender, webhook_body
from simatch.alerts.signing import SIGNATURE_HEADER, verify
from simatch.config import AlertSettings, IndexSettings, IngestEnvSettings, Settings
from simatch.domain.alerts import AlertItem, Found, Subscription
from simatch.ingest.readers import RawRow
from simatch.wiring import Container

TOPICS_FI = [
    ("nuorten yksinäisyys", "nuoret", "kohtaamispaikat ja harrastukset"),
    ("ikäihmisten kotona asuminen", "ikäihmiset", "kotihoito ja naapuriapu"),
    ("omaishoitajien jaksaminen", "omaishoitajat", "vertaistuki ja lomat"),
    ("maahanmuuttajien työllistyminen", "maahanmuuttajat", "kielikoulutus ja työkokeilut"),
    ("lasten lukutaito", "lapset", "kirjastot ja lukemisen ilo"),
    ("mielenterveyden tukeminen", "työikäiset", "matalan kynnyksen palvelut"),
    ("ruoka-avun saatavuus", "pienituloiset", "ruokajakelu ja hävikkiruoka"),
    ("päihteiden käytön ehkäisy", "nuoret aikuiset", "etsivä työ"),
    ("syrjäkylien liikkuminen", "maaseudun asukkaat", "kutsuliikenne ja kimppakyydit"),
    ("energiaköyhyys", "kotitaloudet", "energianeuvonta ja korjaukset"),
    ("koulupudokkuus", "yläkouluikäiset", "oppimisen tuki ja mentorit"),
    ("asunnottomuus", "asunnottomat", "asunto ensin -malli"),
]
TOPICS_EN = [
    ("loneliness of young people", "young people", "meeting places and hobbies"),
    ("older people living at home", "older people", "home care and neighbour help"),
    ("wellbeing of family carers", "family carers", "peer support and respite"),
    ("employment of immigrants", "immigrants", "language training and work trials"),
    ("digital skills", "older adults", "libraries and volunteer tutors"),
    ("food insecurity", "low-income families", "food banks and surplus food"),
]
PLACES = ["pienessä kunnassa", "kaupungin lähiössä", "maaseudulla", "saaristossa", "kylässä"]
PLACES_EN = ["in a small town", "in the suburbs", "in rural areas", "on the islands"]
FUNDERS = ["STEA", "Opetushallitus", "ELY-keskus", "Kulttuurirahasto", "Leader", "ESR+"]


GROUPS_FI = ["nuoret", "ikäihmiset", "lapsiperheet", "maahanmuuttajat", "työttömät",
             "opiskelijat", "omaishoitajat", "vammaiset henkilöt"]  # fmt: skip


def need_rows(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Needs on 12 problems x 8 groups x 5 places (Finnish) and 6 English ones, each with
    an organisation of its own and a detail of its own (as real needs differ)."""
    rows = []
    for n in range(count):
        if rng.random() < 0.8:
            topic, _, means = rng.choice(TOPICS_FI)
            group = rng.choice(GROUPS_FI)
            place = rng.choice(PLACES)
            title = f"{topic.capitalize()}: {group} {place}"
            text = (
                f"Meillä {place} {group} tarvitsevat apua, sillä {topic} on kasvava ongelma. "
                f"Olemme kokeilleet {means}, mutta tarvitsemme kumppaneita ja rahoitusta "
                f"(tapaus {n})."
            )
            lang = "fi"
        else:
            topic, group, _ = rng.choice(TOPICS_EN)
            place = rng.choice(PLACES_EN)
            title = f"{topic.capitalize()} {place}"
            text = f"{group.capitalize()} {place} need support: {topic} is a growing problem."
            lang = "en"
        rows.append(
            {"kind": "need", "id": f"bn-{n}", "title": title, "description": text,
             "organisation": f"Org {n}", "language": lang}
        )  # fmt: skip
    return rows


def evaldata() -> Path:
    return Path(os.environ.get("SIMATCH_EVALDATA") or Path(__file__).parents[2] / "shared/evaldata")


def real_need_rows(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Varied needs nobody here wrote (``SIMATCH_EVALDATA``, read at run time): a tenth
    (at most 1,066) are Participedia case texts in English (title + description), the rest
    Finnish EU structural-fund project titles (EURA 2007-2013 organisations' projects and
    2014-2020 ESF projects), distinct, drawn with a fixed seed."""
    root = evaldata()
    cases = [
        json.loads(line)
        for line in (root / "participedia_case2method/queries.jsonl").open(encoding="utf-8")
    ]
    titles: set[str] = set()
    for line in (root / "fi_eura_project2org/records.jsonl").open(encoding="utf-8"):
        titles.update(t.strip() for t in json.loads(line)["text"].split("; "))
    for line in (root / "fi_eura_project2org/queries.jsonl").open(encoding="utf-8"):
        titles.add(json.loads(line)["text"].strip())
    finnish = sorted(t for t in titles if len(t) >= 12)
    english = rng.sample(cases, min(count // 10, len(cases)))
    picked = rng.sample(finnish, count - len(english))
    rows: list[dict[str, Any]] = []
    for n, case in enumerate(english):
        text = " ".join(str(case["text"]).split())
        title = text.split(". ", 1)[0][:200]
        rows.append(
            {"kind": "need", "id": f"bn-{n}", "title": title, "description": text[:3000],
             "organisation": f"Org {n}", "language": "en"}
        )  # fmt: skip
    for n, title in enumerate(picked, start=len(english)):
        rows.append(
            {"kind": "need", "id": f"bn-{n}", "title": title[:200], "description": title,
             "organisation": f"Org {n}", "language": "fi"}
        )  # fmt: skip
    return rows


NEEDS = {"similar": need_rows, "varied": real_need_rows}


def call_rows(
    count: int, rng: random.Random, suffix: str = "", first: int = 0
) -> list[dict[str, Any]]:
    """Calls ``first`` .. ``first + count - 1``: the same texts in every round (the cache
    serves them); ``first`` >= ``count`` gives other texts (the calls already in the index)."""
    deadline = (date.today() + timedelta(days=90)).isoformat()
    rows = []
    for n in range(first, first + count):
        r = random.Random(n)
        topic, _, means = r.choice(TOPICS_FI)
        group = r.choice(GROUPS_FI)
        place = r.choice(PLACES)
        rows.append(
            {"kind": "call", "id": f"bc-{n}{suffix}", "funder": r.choice(FUNDERS),
             "title": f"Avustushaku {n}: {topic}",
             "description": f"Rahoitusta hankkeille, jotka edistävät teemaa {topic} {place}. "
             f"Kohderyhmänä {group}; keinoina esimerkiksi {means}. Haku numero {n}.",
             "deadline": deadline, "language": "fi"}
        )  # fmt: skip
    rng.shuffle(rows)
    return rows


def rows_of(records: list[dict[str, Any]]) -> list[RawRow]:
    return [RawRow("bench", n, r) for n, r in enumerate(records, start=1)]


SHARED: dict[str, Any] = {}  # the model and the text analyzer, loaded once for every round


def container(data_dir: Path, alerts: bool) -> Container:
    settings = Settings(
        index=IndexSettings(data_dir=data_dir),
        ingest=IngestEnvSettings(optimize_after=10**9),
        alerts=AlertSettings(alerts_enabled=alerts, alerts_interval=0),
    )
    box = Container(settings, **SHARED)
    if not SHARED:
        SHARED.update(embedder=box.embedder, analyzer=box.analyzer)
        box.embedder.load()
        box.analyzer.analyse_query("nuoret ja yksinäisyys", "fi")
        box.analyzer.analyse_query("young people", "en")
    return box


def follow_all(box: Container, count: int) -> None:
    now = datetime.now(UTC)
    for n in range(count):
        box.alert_store.add_subscription(
            Subscription(
                id=f"{n:020x}", need_key=f"need:bn-{n}", channel="webhook",
                frequency="immediate", target={"url": "https://example.org/h"},
                secret="s" * 64, language="fi", owner=None, created=now,
            ),
            None,
        )  # fmt: skip


def detection(
    needs: int, calls: int, rounds: int, cache: Path, existing: list[int], mix: str = "similar"
) -> list[dict[str, Any]]:
    """One row per number of calls already in the index (``existing``: imported once with
    alerts on, before the rounds, and kept)."""
    rng = random.Random(needs)
    work = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    try:
        data = work / "data"
        data.mkdir()
        if cache.exists():
            shutil.copy(cache, data / "embedding-cache.sqlite")
        box = container(data, alerts=True)
        started = time.perf_counter()
        box.ingestor.ingest(rows_of(NEEDS[mix](needs, rng)))
        index_needs = time.perf_counter() - started
        box.index.optimize()
        follow_all(box, needs)
        started = time.perf_counter()
        box.alert_detector.needs.current()
        prepare = time.perf_counter() - started
        # Keep the needs' vectors for the next run; the calls' are embedded cold below.
        shutil.copy(data / "embedding-cache.sqlite", cache)
        box.close()
        off_box = container(data, alerts=False)
        cold = time.perf_counter()
        report = off_box.ingestor.ingest(rows_of(call_rows(calls, rng, "-cold")))
        cold_import = time.perf_counter() - cold
        off_box.record_service.delete_ids([f"call:bc-{n}-cold" for n in range(calls)])
        off_box.close()
        found = []
        indexed = 0
        for base in sorted(existing):
            if base > indexed:
                more = container(data, alerts=True)
                more.ingestor.ingest(
                    rows_of(call_rows(base - indexed, rng, "-base", first=calls + indexed))
                )
                more.close()
                indexed = base
            row = _rounds(data, calls, rounds, rng)
            found.append(
                {
                    "mix": mix,
                    "needs": needs,
                    "calls": calls,
                    "calls_in_index": indexed,
                    "index_needs_s": index_needs,
                    "prepare_needs_s": prepare,
                    "cold_import_s": cold_import,
                    "cold_embedded": report.embedded,
                    **row,
                    "of_cold_import": row["detect_s"] / cold_import,
                }
            )
            print(json.dumps(found[-1]), flush=True)
        return found
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _rounds(data: Path, calls: int, rounds: int, rng: random.Random) -> dict[str, Any]:
    """Imports of ``calls`` new calls, alerts off and on alternated, each deleted after."""
    timings: dict[bool, list[float]] = {False: [], True: []}
    items = checked = 0
    explain = 0.0
    for r in range(rounds):
        for alerts in (False, True) if r % 2 == 0 else (True, False):
            b = container(data, alerts)
            b.index.count()  # opened before the clock starts
            if alerts:
                b.alert_detector.needs.current()  # prepared once per process
            suffix = f"-r{r}{'a' if alerts else 'o'}"
            before = b.alert_store.counts().pending if alerts else 0
            t = time.perf_counter()
            b.ingestor.ingest(rows_of(call_rows(calls, rng, suffix)))
            timings[alerts].append(time.perf_counter() - t)
            if alerts:
                items = max(items, b.alert_store.counts().pending - before)
                checked = max(checked, b.alert_detector.checked)
                made = b.alert_store.counts().pending - before
                explain = explain_cost(b, min(300, made)) or explain
            # With alerts on, the deletion also takes the calls out of the needs' bars.
            b.record_service.delete_ids([f"call:bc-{n}{suffix}" for n in range(calls)])
            b.close()
    off, on = min(timings[False]), min(timings[True])
    return {
        "warm_off_s": off,
        "warm_on_s": on,
        "detect_s": on - off,
        "per_record_ms": (on - off) / calls * 1000,
        "of_warm_import": (on - off) / off,
        "deliveries": items,
        "reverse_matches": checked,
        "explain_ms_per_delivery": explain * 1000,
    }


def explain_cost(box: Container, most: int) -> float:
    """Seconds per delivery that the dispatcher spends adding the reasons why to the items
    of a delivery (``Detector.explain``: detection leaves them to delivery), on up to
    ``most`` of the deliveries just detected (their receivers are not reachable here)."""
    pending = box.alert_store.deliveries("pending", most) if most > 0 else []
    if not pending:
        return 0.0
    subs = {d.subscription_id: box.alert_store.get_subscription(d.subscription_id) for d in pending}
    detector = box.alert_detector
    t = time.perf_counter()
    for d in pending:
        sub = subs[d.subscription_id]
        assert sub is not None
        explained = detector.explain(sub.need_key, d.items)
        assert all(i.why for i in explained)
    return (time.perf_counter() - t) / len(pending)


class _Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps connections open, as web servers do
    secret = "s" * 64
    bad = 0

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not verify(self.secret, raw, self.headers.get(SIGNATURE_HEADER)):
            _Receiver.bad += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def delivery(count: int) -> dict[str, Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    work = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    try:
        box = container(work / "data", alerts=True)
        now = datetime.now(UTC)
        sub = Subscription(
            id="0" * 20, need_key="need:x", channel="webhook", frequency="immediate",
            target={"url": url}, secret=_Receiver.secret, language="fi", owner=None, created=now,
        )  # fmt: skip
        box.alert_store.add_subscription(sub, None)
        item = AlertItem(
            key="call:c", id="c", kind="call", section="funders", title="Avustushaku",
            score=0.9, confidence="possible", why={"passage": "x" * 200, "terms": ["nuori"]},
            deadline="2027-01-31",
        )  # fmt: skip
        for n in range(count):
            found = Found("need:x", (AlertItem(**{**item.__dict__, "key": f"call:c{n}"}),))
            box.alert_store.record_detection([found], [], now)
        t = time.perf_counter()
        report = box.alert_dispatcher.run()
        product = time.perf_counter() - t
        bad = _Receiver.bad
        deliveries = box.alert_store.deliveries("sent", 1)
        sender = WebhookSender()
        body = webhook_body(sub, deliveries[0], "https://example.org/u")
        client = httpx.Client()
        t = time.perf_counter()
        for _ in range(count):
            client.post(url, content=body, headers={"Content-Type": "application/json"})
        raw = time.perf_counter() - t
        threads = box.settings.alerts.alerts_send_threads
        t = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            for _ in pool.map(
                lambda _: client.post(
                    url, content=body, headers={"Content-Type": "application/json"}
                ),
                range(count),
            ):
                pass
        raw_threads = time.perf_counter() - t
        sender.close()
        client.close()
        box.close()
        return {
            "deliveries": count,
            "sent": report.sent,
            "bad_signatures": bad,
            "product_per_s": count / product,
            "raw_post_per_s": count / raw,
            "threads": threads,
            "raw_threads_per_s": count / raw_threads,
        }
    finally:
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--needs", type=int, nargs="+", default=[0, 1000, 10000])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--existing", type=int, nargs="+", default=[0, 1000],
        help="calls already in the index during the rounds (one row each)",
    )  # fmt: skip
    parser.add_argument(
        "--mix", nargs="+", choices=sorted(NEEDS), default=["varied", "similar"],
        help="followed needs: varied (third-party texts) and/or similar (the worst case)",
    )  # fmt: skip
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/bench-alerts-cache.sqlite"))
    parser.add_argument("--quick", action="store_true", help="100 needs, 100 calls, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.needs, args.calls, args.rounds, args.deliveries = [0, 100], 100, 1, 100
        args.existing = [0, 100]
    commit = (
        os.environ.get("SIMATCH_BENCH_COMMIT")
        or subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    )
    print(f"commit {commit}, {platform.processor() or platform.machine()}, {date.today()}")
    results = {"detection": [], "delivery": None}  # type: dict[str, Any]
    for needs in args.needs:
        for mix in args.mix if needs else args.mix[:1]:
            results["detection"].extend(
                detection(needs, args.calls, args.rounds, args.cache, args.existing, mix)
            )
    results["delivery"] = delivery(args.deliveries)
    print(json.dumps(results["delivery"]), flush=True)
    print(
        "\n| needs | followed needs | calls in the index | calls imported | "
        "cold import s (alerts off) | "
        "warm import s, "
        "alerts off | on | detection ms/record | of cold import | of warm import | "
        "reverse matches | deliveries | explained at delivery, ms each |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for d in results["detection"]:
        print(
            f"| {d['mix'] if d['needs'] else '-'} | {d['needs']:,} | "
            f"{d['calls_in_index']:,} | {d['calls']:,} | "
            f"{d['cold_import_s']:.1f} | "
            f"{d['warm_off_s']:.2f} | {d['warm_on_s']:.2f} | {d['per_record_ms']:.2f} | "
            f"{d['of_cold_import']:.1%} | {d['of_warm_import']:.1%} | "
            f"{d['reverse_matches']:,} | {d['deliveries']:,} | "
            f"{d['explain_ms_per_delivery']:.1f} |"
        )
    d = results["delivery"]
    print(f"\nwebhook: {d['product_per_s']:.0f} deliveries/s through the outbox "
          f"({d['threads']} threads; {d['sent']} sent, {d['bad_signatures']} bad signatures); "
          f"plain POST loop {d['raw_post_per_s']:.0f}/s, with {d['threads']} threads "
          f"{d['raw_threads_per_s']:.0f}/s")  # fmt: skip


if __name__ == "__main__":
    main()
