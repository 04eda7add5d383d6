"""Questions nothing good was found for, so staff know what content is missing. They are
recorded by ``MatchService``; this is the staff's side: reading them."""

from __future__ import annotations

from simatch.domain.stores import Gap, GapLog


class GapService:
    def __init__(self, log: GapLog) -> None:
        self.log = log

    def list(self, limit: int = 100, offset: int = 0) -> list[Gap]:
        """Newest first."""
        return self.log.list(limit, offset)

    def count(self) -> int:
        return self.log.count()
