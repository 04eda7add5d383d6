"""haeavustuksia.fi: every Finnish state-grant call, from the state-grant authorities' public
JSON service.

``GET {url}?Pagination.Page=N&Pagination.PageSize=50&Language=fi&ShowFuture=true&
ShowOngoing=true`` answers ``totalCount``, ``pageCount`` and ``hakuilmoitukset[]`` (id
``hakuasianAsianumero``, ``nimi`` and ``kuvaus`` as ``{fi, sv, en}``, start and end in UTC,
``hakuTyyppi``, ``julkaisuTyyppi``). The authorities are listed at
``/api/haku/valtionapuviranomaiset``, and ``VaOrgLyhenne=<abbreviation>`` lists one
authority's calls: that is how each call's funder is known. Calls listed under no authority
are taken from an unfiltered pass, their funder read from the case number's prefix.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from simatch.domain.sources import Profile, SourceItem, SourcePage
from simatch.errors import InvalidInput, SourceFailed
from simatch.sources.digest import item_digest
from simatch.sources.html_text import html_to_text
from simatch.sources.http import SourceHttp

NAME = "haeavustuksia"
PAGE_SIZE = 50
MAX_PAGES = 400
LANGUAGES = ("fi", "sv", "en")
CONTINUOUS_TYPES = frozenset({"jatkuva", "continuous", "löpande"})
# An end this far ahead is a placeholder of a call open until further notice.
CONTINUOUS_AFTER = timedelta(days=3 * 365)
FAR_END = date(2099, 12, 31)  # a continuous call without any end date
FINLAND = ZoneInfo("Europe/Helsinki")
MAPPING_VERSION = "1"

DEFAULT_PROFILE: Profile = {
    "authorities": [],  # abbreviations to take; empty = every authority
    "show_future": True,  # calls that open later
    "show_ongoing": True,
}
_PROFILE_KEYS = set(DEFAULT_PROFILE)


class Haeavustuksia:
    def __init__(
        self,
        http: SourceHttp,
        url: str,
        page_delay: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.url = url
        parts = urlsplit(url)
        self.site = f"{parts.scheme}://{parts.netloc}"
        # The authority list sits beside list-items: .../api/haku/valtionapuviranomaiset
        self.authorities_url = url.rsplit("/", 1)[0] + "/valtionapuviranomaiset"
        self.page_delay = page_delay
        self._sleep = sleep

    @property
    def name(self) -> str:
        return NAME

    @property
    def title(self) -> str:
        return "haeavustuksia.fi (Finnish state grants)"

    def default_profile(self) -> Profile:
        copy: Profile = json.loads(json.dumps(DEFAULT_PROFILE))
        return copy

    def check_profile(self, profile: Profile) -> Profile:
        unknown = set(profile) - _PROFILE_KEYS
        if unknown:
            raise InvalidInput(
                f"unknown profile keys {sorted(unknown)}; expected {sorted(_PROFILE_KEYS)}",
                {"field": sorted(unknown)[0]},
            )
        merged = {**self.default_profile(), **profile}
        authorities = merged["authorities"]
        if not isinstance(authorities, list) or not all(isinstance(a, str) for a in authorities):
            raise InvalidInput(
                "profile authorities must be a list of abbreviations", {"field": "authorities"}
            )
        for key in ("show_future", "show_ongoing"):
            if not isinstance(merged[key], bool):
                raise InvalidInput(f"profile {key} must be true or false", {"field": key})
        return merged

    def fetch(self, profile: Profile, now: datetime) -> Iterator[SourcePage]:
        profile = self.check_profile(profile)
        authorities = self._authorities()
        wanted = profile["authorities"] or list(authorities)
        unknown = [a for a in wanted if a not in authorities]
        if unknown:
            raise SourceFailed(
                f"{NAME}: the profile names authorities the service does not list: {unknown}"
            )
        seen: set[str] = set()
        page_number = 0
        passes: list[str | None] = list(wanted)
        if not profile["authorities"]:
            passes.append(None)  # calls listed under no authority
        for authority in passes:
            funder = authorities.get(authority) if authority else None
            for raw_page in self._pages(profile, authority):
                page_number += 1
                items, duplicates = [], 0
                for position, raw in enumerate(raw_page):
                    item = map_call(raw, funder, now, self.site, f"{NAME} item {position + 1}")
                    if item.source_id in seen:
                        # The unfiltered pass lists again what the authorities' passes had.
                        duplicates += authority is not None
                        continue
                    seen.add(item.source_id)
                    items.append(item)
                yield SourcePage(page_number, items, None, duplicates)

    def _authorities(self) -> dict[str, str]:
        """abbreviation -> name (Finnish first)."""
        what = f"{NAME} authorities"
        answer = self.http.get_json(what, self.authorities_url, {})
        rows = answer if isinstance(answer, list) else None
        if rows is None or not rows:
            came = type(answer).__name__ if not isinstance(answer, list) else "an empty list"
            raise SourceFailed(
                f"{what}: expected a list of authorities, got {came}",
                {"expected": "a list of {lyhenne, nimi}", "came": came},
            )
        found: dict[str, str] = {}
        for row in rows:
            abbreviation = _text(row, "lyhenne", "vaOrgLyhenne", "abbreviation")
            name = _text(row, "nimi", "name")
            if not abbreviation or not name:
                keys = sorted(row)[:10] if isinstance(row, dict) else type(row).__name__
                raise SourceFailed(
                    f"{what}: expected each authority to have lyhenne and nimi, got {keys}",
                    {"expected": ["lyhenne", "nimi"], "came": keys},
                )
            found[abbreviation] = name
        return found

    def _pages(self, profile: Profile, authority: str | None) -> Iterator[list[Any]]:
        received = 0
        for number in range(1, MAX_PAGES + 1):
            if self.page_delay:
                self._sleep(self.page_delay)
            params: dict[str, str | int] = {
                "Pagination.Page": number,
                "Pagination.PageSize": PAGE_SIZE,
                "Language": "fi",
                "ShowFuture": str(profile["show_future"]).lower(),
                "ShowOngoing": str(profile["show_ongoing"]).lower(),
            }
            if authority:
                params["VaOrgLyhenne"] = authority
            what = f"{NAME} {authority or 'all'} page {number}"
            total, pages, calls = _page_shape(what, self.http.get_json(what, self.url, params))
            yield calls
            received += len(calls)
            if not calls or received >= total or (pages is not None and number >= pages):
                return
        raise SourceFailed(f"{NAME}: still more pages after {MAX_PAGES}; stopped")

    def close(self) -> None:
        self.http.close()


def _page_shape(what: str, answer: Any) -> tuple[int, int | None, list[Any]]:
    expected = "an object with totalCount (a number) and hakuilmoitukset (a list)"
    if isinstance(answer, dict):
        total, pages, calls = (
            answer.get("totalCount"),
            answer.get("pageCount"),
            answer.get("hakuilmoitukset"),
        )
        if isinstance(total, int) and not isinstance(total, bool) and isinstance(calls, list):
            return total, pages if isinstance(pages, int) else None, calls
        came: Any = {k: type(v).__name__ for k, v in list(answer.items())[:12]}
    else:
        came = type(answer).__name__
    raise SourceFailed(
        f"{what}: expected {expected}, got {came}", {"expected": expected, "came": came}
    )


def map_call(raw: Any, funder: str | None, now: datetime, site: str, where: str) -> SourceItem:
    """One hakuilmoitus -> a call record in its main language, the other versions kept."""
    if not isinstance(raw, dict):
        return SourceItem(source_id=where, checksum="", error="not an object", field="item")
    number = raw.get("hakuasianAsianumero")
    if not isinstance(number, str) or not number.strip():
        return SourceItem(
            source_id=where, checksum="", error="no case number", field="hakuasianAsianumero"
        )
    number = number.strip()
    checksum = f"{MAPPING_VERSION}:{item_digest(raw)}:{funder or ''}"
    names, texts = _versions(raw.get("nimi")), _versions(raw.get("kuvaus"))
    main = next((lang for lang in LANGUAGES if names.get(lang)), None)
    if main is None:
        return SourceItem(source_id=number, checksum=checksum, error="no name", field="nimi")
    starts, ends = (
        _moment(raw.get("hakuAlkaaDateTimeUtc")),
        _moment(raw.get("hakuPaattyyDateTimeUtc")),
    )
    kind = str(raw.get("hakuTyyppi") or "")
    far = ends is not None and ends - now > CONTINUOUS_AFTER
    continuous = kind.casefold() in CONTINUOUS_TYPES or far
    if ends is not None:
        deadline: date | str | None = ends.astimezone(FINLAND).date()
    elif continuous:
        deadline = FAR_END
    else:
        deadline = raw.get("hakuPaattyyDateTimeUtc")  # missing or unreadable: a bad item
    other = {
        lang: {"title": names.get(lang), "description": texts.get(lang)}
        for lang in LANGUAGES
        if lang != main and (names.get(lang) or texts.get(lang))
    }
    link = _text(raw, "url", "linkki", "hakuilmoitusUrl") or site
    record: dict[str, Any] = {
        "kind": "call",
        "id": "ha-" + re.sub(r"[\s/]+", "-", number),
        "title": names[main],
        "description": texts.get(main) or names[main],
        "funder": funder or _funder_from_number(number),
        "opens_at": starts.astimezone(FINLAND).date().isoformat() if starts else None,
        "deadline": deadline.isoformat() if isinstance(deadline, date) else deadline,
        "continuous": continuous,
        "language": main,
        "regions": ["valtakunnallinen"],
        "url": link,
        "translations": other,
        "call_type": kind or None,
        "publication_type": raw.get("julkaisuTyyppi"),
        "source": NAME,
        "source_id": number,
        "source_url": link,
        "fetched_at": now.isoformat(timespec="seconds"),
        "checksum": checksum,
    }
    record = {k: v for k, v in record.items() if v not in (None, "", [], {})}
    return SourceItem(source_id=number, checksum=checksum, record=record)


def _versions(value: Any) -> dict[str, str]:
    """``{fi, sv, en}`` (any may be null) -> the versions that exist, as plain text."""
    if isinstance(value, str):
        value = {"fi": value}
    if not isinstance(value, dict):
        return {}
    found = {}
    for lang in LANGUAGES:
        text = value.get(lang)
        if isinstance(text, str) and text.strip():
            found[lang] = html_to_text(text) if "<" in text else " ".join(text.split())
    return found


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))


def _text(row: Any, *keys: str) -> str | None:
    if not isinstance(row, dict):
        return None
    for key in keys:
        value = row.get(key)
        if isinstance(value, dict):
            value = next((value.get(lang) for lang in LANGUAGES if value.get(lang)), None)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _funder_from_number(number: str) -> str:
    """Case numbers start with the authority's abbreviation (``OKM/123/2026``)."""
    prefix = re.split(r"[/\s-]", number, maxsplit=1)[0]
    return prefix or "Valtionavustusviranomainen"
