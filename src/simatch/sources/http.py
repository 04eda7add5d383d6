"""HTTP for sources: a descriptive User-Agent, timeouts, retries with exponential backoff on
network errors, timeouts, 429 and 5xx; then a SourceFailed that says what happened."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from simatch import __version__
from simatch.errors import SourceFailed


def user_agent(contact: str | None = None) -> str:
    """Says who fetches and why; operators add how to reach them (SIMATCH_SOURCE_CONTACT)."""
    about = "funding-call sync for social-innovation matchmaking; polite paging"
    return f"simatch/{__version__} ({about}{'; ' + contact if contact else ''})"


_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class HttpPolicy:
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 2.0  # seconds before the first retry, doubled each time
    max_backoff: float = 60.0
    contact: str | None = None  # added to the User-Agent


class SourceHttp:
    """One client per source; ``what`` names the request in messages (``eu-ft page 3``)."""

    def __init__(
        self,
        policy: HttpPolicy,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.policy = policy
        self._sleep = sleep
        self._client = httpx.Client(
            timeout=policy.timeout,
            headers={"User-Agent": user_agent(policy.contact), "Accept": "application/json"},
            follow_redirects=True,
            transport=transport,
        )

    def get_json(self, what: str, url: str, params: Mapping[str, str | int]) -> Any:
        return self._json(what, lambda: self._client.get(url, params=dict(params)))

    def post_multipart_json(
        self, what: str, url: str, params: Mapping[str, str | int], parts: Mapping[str, Any]
    ) -> Any:
        """Each part a JSON document sent as a file part named after its key (what the EU
        search service reads; form fields sent another way are ignored there)."""
        files = {
            name: ("blob", json.dumps(value, ensure_ascii=False), "application/json")
            for name, value in parts.items()
        }
        return self._json(what, lambda: self._client.post(url, params=dict(params), files=files))

    def _json(self, what: str, send: Callable[[], httpx.Response]) -> Any:
        response = self._send(what, send)
        try:
            return response.json()
        except ValueError as exc:
            came = response.text[:200].replace("\n", " ")
            raise SourceFailed(
                f"{what}: expected a JSON answer, got {response.headers.get('content-type')!r}: "
                f"{came!r}",
                {"expected": "JSON", "came": came},
            ) from exc

    def _send(self, what: str, send: Callable[[], httpx.Response]) -> httpx.Response:
        attempts = self.policy.retries + 1
        problem = ""
        for attempt in range(1, attempts + 1):
            retry_after: float | None = None
            try:
                response = send()
            except httpx.TransportError as exc:  # refused, reset, timeouts
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if response.status_code < 400:
                    return response
                problem = f"HTTP {response.status_code}: {response.text[:200]!r}"
                if response.status_code not in _RETRY_STATUS:
                    raise SourceFailed(f"{what}: {problem}", {"status": response.status_code})
                retry_after = _retry_after(response)
            if attempt < attempts:
                delay = min(self.policy.backoff * 2 ** (attempt - 1), self.policy.max_backoff)
                self._sleep(max(delay, retry_after or 0.0))
        raise SourceFailed(f"{what}: failed after {attempts} attempts; last: {problem}")

    def close(self) -> None:
        self._client.close()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return min(float(value), 300.0)
    except ValueError:
        return None
