"""Saving a problem described in chat as a ``need`` record, with the actor's consent.

Only what the person gave for this purpose is stored: the question, the region filter they
chose, the organisation name they typed in answer to the consent prompt, and an e-mail
address only if they wrote one there. Never their name or chat account.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from simatch.chat.render import shorten
from simatch.domain.records import Need

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PREFIX = re.compile(
    r"^(organi[sz]ation|organisaatio|organisationen|org|yhdistys|förening)\s*[:\-]\s*", re.I
)
_QUOTES = " \"'“”„«»,;:."


def parse_consent(text: str) -> tuple[str | None, str | None]:
    """(organisation, email) from an answer like "Kylätalo ry, info@kylatalo.fi"."""
    email = _EMAIL.search(text)
    rest = _PREFIX.sub("", _EMAIL.sub(" ", text).strip()).strip(_QUOTES)
    rest = " ".join(rest.split())
    organisation = rest if sum(ch.isalpha() for ch in rest) >= 2 else None
    return organisation, email.group(0) if email else None


def need_record(
    question: str,
    organisation: str,
    regions: tuple[str, ...],
    contact: str | None,
    platform: str,
) -> Need:
    return Need(
        id=f"chat-{uuid.uuid4().hex[:12]}",
        title=shorten(question.split(". ")[0], 120),
        description=question,
        organisation=shorten(organisation, 200),
        regions=list(regions),
        contact=contact,
        created_at=datetime.now(UTC),
        source=f"chat:{platform}",  # type: ignore[call-arg]  # extra fields are kept
    )
