"""The EU Funding & Tenders portal's public search service: calls for proposals ("topics").

``POST {url}?apiKey=SEDIA&text=***&pageSize=100&pageNumber=N`` with the filter as multipart
parts ``query`` (an Elasticsearch-like bool query) and ``languages``. The answer has
``totalResults`` and ``results[]``; each result's ``metadata`` holds lists of strings, some of
them HTML or JSON encoded inside the string. The service does the filtering (the profile);
what it returns is taken as it comes, except closed topics.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

from simatch.domain.sources import Profile, SourceItem, SourcePage
from simatch.errors import InvalidInput, SourceFailed
from simatch.sources.digest import item_digest
from simatch.sources.html_text import html_to_text
from simatch.sources.http import SourceHttp

NAME = "eu-ft"
PAGE_SIZE = 100
MAX_PAGES = 1000  # a service that never says it is done must not keep us paging forever
FORTHCOMING, OPEN, CLOSED = "31094501", "31094502", "31094503"
TOPIC_PAGE = (
    "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/"
    "topic-details/{}"
)
# Bump when the mapping changes, so that a re-sync maps every item again.
MAPPING_VERSION = "1"

# Programme names by the first segments of a topic identifier (longest prefix wins).
PROGRAMMES = {
    "HORIZON-CL2": "Horizon Europe, Cluster 2: Culture, Creativity and Inclusive Society",
    "HORIZON": "Horizon Europe",
    "ERASMUS": "Erasmus+",
    "CERV": "Citizens, Equality, Rights and Values (CERV)",
    "AMIF": "Asylum, Migration and Integration Fund (AMIF)",
    "ESF": "European Social Fund Plus (ESF+)",
    "SOCPL": "ESF+ Employment and Social Innovation strand (EaSI)",
    "EU4H": "EU4Health",
    "CREA": "Creative Europe",
    "DIGITAL": "Digital Europe",
    "LIFE": "LIFE",
    "SMP": "Single Market Programme",
    "JUST": "Justice Programme",
}
PRIORITY_THEMES = {"SocInnov": "social innovation"}

# Which topics to take: sent as the request's ``query`` part. ``any_of`` maps a metadata
# field to values; a topic must match at least one of them (besides the types and
# statuses). frameworkProgramme ids as seen in public clients of the service: check them
# against the portal (``simatch sources profile eu-ft``) before relying on them.
DEFAULT_PROFILE: Profile = {
    "types": ["1", "2", "8"],
    "statuses": [FORTHCOMING, OPEN],
    "any_of": {
        "crossCuttingPriorities": ["SocInnov"],
        "keywords": ["social innovation", "social inclusion", "social economy"],
        # ESF+ (incl. EaSI), CERV, Erasmus+, AMIF
        "frameworkProgramme": ["43254019", "43251589", "43353764", "43251447"],
        # whole calls by identifier, e.g. Horizon Europe Cluster 2: "HORIZON-CL2-2027-01"
        "callIdentifier": [],
    },
    "text": "***",
    "languages": ["en"],
}
_PROFILE_KEYS = {"types", "statuses", "any_of", "text", "languages"}


class EuFundingTenders:
    def __init__(
        self,
        http: SourceHttp,
        url: str,
        page_delay: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.url = url
        self.page_delay = page_delay
        self._sleep = sleep

    @property
    def name(self) -> str:
        return NAME

    @property
    def title(self) -> str:
        return "EU Funding & Tenders portal"

    def default_profile(self) -> Profile:
        copy: Profile = json.loads(json.dumps(DEFAULT_PROFILE))  # the caller may change it
        return copy

    def check_profile(self, profile: Profile) -> Profile:
        unknown = set(profile) - _PROFILE_KEYS
        if unknown:
            raise InvalidInput(
                f"unknown profile keys {sorted(unknown)}; expected {sorted(_PROFILE_KEYS)}",
                {"field": sorted(unknown)[0]},
            )
        merged = {**self.default_profile(), **profile}
        for key in ("types", "statuses", "languages"):
            _check_strings(key, merged[key])
        if not isinstance(merged["text"], str) or not merged["text"].strip():
            raise InvalidInput("profile text must be a non-empty string", {"field": "text"})
        any_of = merged["any_of"]
        if not isinstance(any_of, dict):
            raise InvalidInput("profile any_of must map fields to lists", {"field": "any_of"})
        for field, values in any_of.items():
            _check_strings(f"any_of.{field}", values)
        return merged

    def query(self, profile: Profile) -> dict[str, Any]:
        must: list[dict[str, Any]] = [
            {"terms": {"type": profile["types"]}},
            {"terms": {"status": profile["statuses"]}},
        ]
        should = [{"terms": {f: v}} for f, v in profile["any_of"].items() if v]
        if should:
            must.append({"bool": {"should": should, "minimum_should_match": 1}})
        return {"bool": {"must": must}}

    def fetch(self, profile: Profile, now: datetime) -> Iterator[SourcePage]:
        profile = self.check_profile(profile)
        parts = {"query": self.query(profile), "languages": profile["languages"]}
        seen: set[str] = set()
        received = 0
        for number in range(1, MAX_PAGES + 1):
            if number > 1 and self.page_delay:
                self._sleep(self.page_delay)
            params = {
                "apiKey": "SEDIA",
                "text": profile["text"],
                "pageSize": PAGE_SIZE,
                "pageNumber": number,
            }
            what = f"{NAME} page {number}"
            answer = self.http.post_multipart_json(what, self.url, params, parts)
            total, results = _page_shape(what, answer)
            items: list[SourceItem] = []
            duplicates = 0
            for position, result in enumerate(results):
                item = map_topic(result, now, f"{what} item {position + 1}")
                if item.source_id in seen:
                    duplicates += 1  # the service repeats a topic on later pages
                    continue
                seen.add(item.source_id)
                items.append(item)
            yield SourcePage(number, items, total, duplicates)
            received += len(results)
            # The service may serve smaller pages than asked: count what came.
            if not results or received >= total:
                return
        raise SourceFailed(f"{NAME}: still more pages after {MAX_PAGES}; stopped")

    def close(self) -> None:
        self.http.close()


def _check_strings(field: str, values: object) -> None:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidInput(f"profile {field} must be a list of strings", {"field": field})


def _page_shape(what: str, answer: Any) -> tuple[int, list[Any]]:
    """The page's total and results, or a loud failure saying what was expected."""
    expected = "an object with totalResults (a number) and results (a list)"
    if not isinstance(answer, dict):
        raise SourceFailed(
            f"{what}: expected {expected}, got {type(answer).__name__}",
            {"expected": expected, "came": type(answer).__name__},
        )
    total, results = answer.get("totalResults"), answer.get("results")
    if isinstance(total, str) and total.isdigit():
        total = int(total)
    if not isinstance(total, int) or isinstance(total, bool) or not isinstance(results, list):
        came = {k: type(v).__name__ for k, v in list(answer.items())[:12]}
        raise SourceFailed(
            f"{what}: expected {expected}, got {came}", {"expected": expected, "came": came}
        )
    return total, results


def map_topic(result: Any, now: datetime, where: str) -> SourceItem:
    """One search result -> a call record with provenance, or an item error."""
    if not isinstance(result, dict):
        return SourceItem(source_id=where, checksum="", error="not an object", field="result")
    meta = result.get("metadata")
    reference = str(result.get("reference") or where)
    if not isinstance(meta, dict):
        return SourceItem(
            source_id=reference, checksum="", error="metadata missing", field="metadata"
        )
    identifier = _first(meta, "identifier")
    if not identifier:
        return SourceItem(
            source_id=reference, checksum="", error="no identifier", field="identifier"
        )
    checksum = f"{MAPPING_VERSION}:{result.get('checksum') or item_digest(result)}"
    status = _first(meta, "status")
    if status == CLOSED:
        return SourceItem(source_id=identifier, checksum=checksum, closed=True)
    today = now.date()
    deadlines = sorted(d for d in (_day(v) for v in _all(meta, "deadlineDate")) if d)
    if not deadlines:
        deadlines = _action_deadlines(meta)
    upcoming = [d for d in deadlines if d >= today]
    deadline = upcoming[0] if upcoming else (deadlines[-1] if deadlines else None)
    # A two-stage call moves to its next deadline once this one passes.
    remap_after = deadline if len(upcoming) > 1 else None
    url = _first(meta, "url") or result.get("url") or TOPIC_PAGE.format(identifier)
    record: dict[str, Any] = {
        "kind": "call",
        "id": re.sub(r"[\s/]+", "-", identifier),
        "title": _first(meta, "title") or result.get("summary"),
        "description": _description(meta, result),
        "funder": "European Commission",
        "programme": _programme(identifier, _first(meta, "callIdentifier")),
        "opens_at": _day(_first(meta, "startDate")),
        "deadline": deadline.isoformat() if deadline else _first(meta, "deadlineDate"),
        "budget": _budget(meta, identifier),
        "url": url,
        "language": "en",
        "themes": _themes(meta),
        "status": "forthcoming" if status == FORTHCOMING else "open",
        "call_id": _first(meta, "callIdentifier"),
        "call_title": _first(meta, "callTitle"),
        "types_of_action": _all(meta, "typesOfAction"),
        "source": NAME,
        "source_id": identifier,
        "source_url": TOPIC_PAGE.format(identifier),
        "fetched_at": now.isoformat(timespec="seconds"),
        "checksum": checksum,
    }
    if len(deadlines) > 1:
        record["deadlines"] = [d.isoformat() for d in deadlines]
    record = {k: v for k, v in record.items() if v not in (None, "", [])}
    return SourceItem(
        source_id=identifier, checksum=checksum, record=record, remap_after=remap_after
    )


def _all(meta: dict[str, Any], key: str) -> list[str]:
    value = meta.get(key)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in values if v is not None and str(v).strip()]


def _first(meta: dict[str, Any], key: str) -> str | None:
    values = _all(meta, key)
    return values[0] if values else None


def _day(value: str | None) -> date | None:
    """``2027-04-08T00:00:00.000+0000`` (or a plain date) -> the day, in its own offset."""
    if not value or not re.match(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _json(value: str | None) -> Any:
    """A field JSON-encoded inside a string; None when absent or unreadable (optional)."""
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _action_deadlines(meta: dict[str, Any]) -> list[date]:
    actions = _json(_first(meta, "actions"))
    found: set[date] = set()
    for action in actions if isinstance(actions, list) else []:
        if isinstance(action, dict):
            for value in action.get("deadlineDates") or []:
                day = _day(str(value))
                if day:
                    found.add(day)
    return sorted(found)


def _description(meta: dict[str, Any], result: dict[str, Any]) -> str | None:
    for html in (_first(meta, "descriptionByte"), result.get("summary"), _first(meta, "callTitle")):
        text = html_to_text(str(html)) if html else ""
        if text:
            return text
    return None


def _programme(identifier: str, call_identifier: str | None) -> str | None:
    code = (call_identifier or identifier).upper()
    for prefix in sorted(PROGRAMMES, key=len, reverse=True):
        if code == prefix or code.startswith(prefix + "-"):
            return PROGRAMMES[prefix]
    return code.split("-")[0] or None


def _budget(meta: dict[str, Any], identifier: str) -> str | None:
    """The topic's planned budget from budgetOverview (JSON in a string)."""
    overview = _json(_first(meta, "budgetOverview"))
    if not isinstance(overview, dict):
        return None
    actions = overview.get("budgetTopicActionMap")
    total = 0.0
    for entries in actions.values() if isinstance(actions, dict) else []:
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not str(entry.get("action", "")).startswith(
                identifier
            ):
                continue
            years = entry.get("budgetYearMap")
            for amount in years.values() if isinstance(years, dict) else []:
                if isinstance(amount, int | float):
                    total += float(amount)
    return f"EUR {total:,.0f}".replace(",", " ") if total > 0 else None


def _themes(meta: dict[str, Any]) -> list[str]:
    themes = (
        [PRIORITY_THEMES.get(p, p) for p in _all(meta, "crossCuttingPriorities")]
        + _all(meta, "tags")
        + _all(meta, "keywords")
    )
    return list(dict.fromkeys(t for t in themes if t))
