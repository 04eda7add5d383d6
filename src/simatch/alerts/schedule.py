"""When digests go out: daily at the digest hour (UTC), weekly on Mondays at that hour."""

from __future__ import annotations

from datetime import datetime, timedelta


def next_digest(frequency: str, after: datetime, hour: int) -> datetime:
    """The first digest time strictly after ``after`` (an aware datetime, UTC)."""
    moment = after.replace(hour=hour, minute=0, second=0, microsecond=0)
    if moment <= after:
        moment += timedelta(days=1)
    if frequency == "weekly":
        moment += timedelta(days=(7 - moment.weekday()) % 7)  # Monday is 0
    return moment


def next_digests(after: datetime, hour: int) -> dict[str, datetime]:
    return {f: next_digest(f, after, hour) for f in ("daily", "weekly")}
